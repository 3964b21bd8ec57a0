"""The live stream: `GET /ws` (README "Live stream")."""
