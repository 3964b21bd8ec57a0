"""Process plumbing: entry points (cli, worker, the dev stack), the Temporal client and its
converter, the dependency container, worker cache and memory policy, key rotation."""
