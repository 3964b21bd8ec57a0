"""The escape corpus (issue #7): hostile programs, each of which must end as a failed result.

Every entry tries one way out of the sandbox and succeeds only by returning a Decision (an `ok`
result, which the tests reject) or by damaging something the tests check afterwards (the zygote,
later runs, the worker). When the attempt is blocked, the exception propagates and the run fails
with one of `codes`; `expect` (a regular expression) must match the error, so an entry cannot
"pass" by failing for an unrelated reason such as a typo.

Programs search for the canary by the prefix CANARY_PREFIX, assembled at run time so that the
program's own source does not contain it.
"""

from __future__ import annotations

from dataclasses import dataclass

CANARY_PREFIX = "hyperoru-canary-"

# Reaches the real `os` module (and through it sys and the real builtins) the classic way.
PRELUDE = """
MARK = "hyperoru-" + "canary-"

def real_os():
    for k in ().__class__.__base__.__subclasses__():
        if k.__name__ == "_wrap_close":
            return k.__init__.__globals__["sys"].modules["os"]
    raise LookupError("no _wrap_close")

os = real_os()
sys = os.sys
real_builtins = os.__dict__["__builtins__"]
real_import = real_builtins["__import__"]

def module(name):
    return sys.modules.get(name) or real_import(name)

def libc():
    ctypes = module("ctypes")
    return ctypes, ctypes.CDLL(None, use_errno=True)

def check(rc, what):
    if rc < 0:
        ctypes, _ = libc()
        raise OSError(ctypes.get_errno(), what + " failed")
    return rc

def leaked(s):
    return MARK in s and s != MARK

def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, dict):
        for k, v in list(value.items()):
            yield from strings_in(k)
            if isinstance(v, (str, bytes)):
                yield from strings_in(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in list(value):
            if isinstance(v, (str, bytes)):
                yield from strings_in(v)
"""


@dataclass(frozen=True)
class Escape:
    name: str
    body: str  # the body of should_trade(self, data); PRELUDE names are available
    codes: frozenset[str]
    expect: str  # regex the error message must match (re.search)

    @property
    def code(self) -> str:
        lines = "\n".join("        " + line for line in self.body.strip().splitlines())
        return f"{PRELUDE}\nclass Strategy:\n    def should_trade(self, data):\n{lines}\n"


ERR = frozenset({"PROGRAM_ERROR"})
DENIED = r"PermissionError|Operation not permitted"
MEMORY = frozenset({"MEMORY_LIMIT"})


# Tries `fn(pid)` on the process's parent and on every pid near its own (how the zygote, another
# run or the worker would be found), and says which it reached. Each run is alone: none.
NEIGHBOURS = """
R = module("resource")
def reach(fn, verb):
    me, hit = os.getpid(), []
    for pid in dict.fromkeys([os.getppid(), 1, *range(max(1, me - 64), me + 64)]):
        if pid in (0, me):
            continue
        try:
            fn(pid)
            hit.append(pid)
        except OSError:
            pass
    raise PermissionError(f"{verb} {hit}" if hit else NOBODY_REACHED)
NOBODY_REACHED = "no other " + "process was reached"  # not in the traceback's source line
"""
UNREACHED = "no other process was reached"
NO_PATH = r"No such file or directory|Operation not permitted"


def _e(name: str, body: str, expect: str = DENIED, codes: frozenset[str] = ERR) -> Escape:
    return Escape(name, body, codes, expect)


CORPUS: list[Escape] = [
    # --- the language-level guards ------------------------------------------------------------
    _e("dunder_import_os", '__import__("os")', "import of 'os' is not allowed"),
    _e("builtin_open", 'open("/etc/passwd")', "name 'open' is not defined"),
    _e("import_subprocess", "import subprocess", "import of 'subprocess' is not allowed"),
    _e("import_ctypes", "import ctypes", "import of 'ctypes' is not allowed"),
    _e("eval_builtin", 'eval("1")', "name 'eval' is not defined"),
    # --- subclass walks to the real modules, then the process boundary ------------------------
    _e("walk_to_open", 'real_builtins["open"]("/etc/passwd").read()'),
    _e(
        "walk_eval_os_open",
        "real_builtins[\"eval\"](\"__import__('os').open('/etc/hostname', 0)\", "
        '{"__builtins__": real_builtins})',
    ),
    _e("io_fileio", 'module("io").FileIO("/etc/passwd").read()'),
    _e(  # numpy reports the failed open() badly, but it fails
        "numpy_fromfile",
        'module("numpy").fromfile("/etc/passwd", dtype="uint8")',
        DENIED + "|fromfile> returned NULL",
    ),
    _e("listdir_root", 'os.listdir("/")'),
    _e("proc_self_environ", 'os.read(os.open("/proc/self/environ", os.O_RDONLY), 65536)'),
    _e("parent_environ", 'os.read(os.open(f"/proc/{os.getppid()}/environ", os.O_RDONLY), 65536)'),
    _e("parent_mem", 'os.open(f"/proc/{os.getppid()}/mem", os.O_RDONLY)'),
    _e("parent_fd", 'os.open(f"/proc/{os.getppid()}/fd/0", os.O_RDONLY)'),
    _e("write_file", 'os.open("/tmp/hyperoru-escape", os.O_CREAT | os.O_WRONLY)'),
    _e(
        "numpy_tofile",
        'module("numpy").arange(3).tofile("/tmp/hyperoru-escape")',
        DENIED + "|returned NULL",
    ),
    _e("os_system", 'rc = os.system("id")\nraise PermissionError(f"system() returned {rc}")'),
    _e("exec_shell", 'os.execv("/bin/sh", ["sh", "-c", "id"])'),
    _e("subprocess_run", 'module("subprocess").run(["/bin/true"])', DENIED + "|No module"),
    _e("fork_bomb", "while True:\n    os.fork()", DENIED + "|Resource temporarily"),
    _e("thread_bomb", 'module("threading").Thread(target=len, args=((),)).start()', "thread"),
    _e("setuid_root", "os.setuid(0)"),
    _e("unshare_userns", 'check(libc()[1].unshare(0x10000000), "unshare")'),
    _e("ptrace_parent", 'check(libc()[1].ptrace(16, os.getppid(), 0, 0), "ptrace")'),
    # --- the network --------------------------------------------------------------------------
    _e(
        "tcp_connect_local",
        's = module("socket").socket()\ns.settimeout(1)\ns.connect(("127.0.0.1", PORT))',
        DENIED + "|No module",
    ),
    _e("raw_socket_ctypes", 'check(libc()[1].socket(2, 1, 0), "socket")'),
    # --- the parent / zygote and other sandboxes ----------------------------------------------
    _e("kill_parent", "os.kill(os.getppid(), 9)"),
    _e("kill_everything", "os.kill(-1, 9)"),
    _e("killpg_parent", "os.killpg(os.getpgid(os.getppid()), 9)"),
    _e(
        "zygote_control_socket",
        """
gc = module("gc")
socks = [o for o in gc.get_objects() if type(o).__name__ == "socket"]
if not socks:
    raise LookupError("no socket objects in this process")
for s in socks:
    s.send(b'{"op": "kill", "id": 1}')
""",
        "Bad file descriptor|no socket objects",
    ),
    # --- secrets in memory: frames, gc, tracebacks --------------------------------------------
    _e(
        "gc_canary_scan",
        """
gc = module("gc")
objects = gc.get_objects()
found = [s for o in objects for s in strings_in(o) if leaked(s)]
found += [v for v in os.environ.values() if leaked(v)]
if found:
    return Decision(operation="hold", reasoning=found[0][:500])
raise LookupError(f"no canary in {len(objects)} objects")
""",
        "no canary",
    ),
    _e(
        "frame_walk_canary",
        """
frame, depth, found = sys._getframe(0), 0, []
while frame is not None:
    for scope in (frame.f_locals, frame.f_globals):
        found += [s for s in strings_in(scope) if leaked(s)]
    frame, depth = frame.f_back, depth + 1
if found:
    return Decision(operation="hold", reasoning=found[0][:500])
raise LookupError(f"no canary in {depth} frames")
""",
        "no canary",
    ),
    _e(
        "traceback_frames_to_jail",
        """
try:
    1 / 0
except ZeroDivisionError as exc:
    frame = exc.__traceback__.tb_frame
outer = []
while frame is not None:
    outer.append(frame)
    frame = frame.f_back
for f in outer:
    g = f.f_globals
    if "jail" in g:
        g["jail"].os.setuid(0)
raise LookupError(f"no jail module among {len(outer)} frames")
""",
        DENIED + "|no jail module",
    ),
    # --- tampering that must not outlive this run ---------------------------------------------
    _e(
        "poison_modules_for_later_runs",
        """
real_builtins["len"] = lambda x: 0
real_builtins["print"] = None
np = module("numpy")
np.mean = np.median = None
for name in ("sandbox.program", "sandbox.runtime", "sandbox.market_data"):
    mod = sys.modules.get(name)
    if mod is not None:
        for attr in list(vars(mod)):
            if not attr.startswith("__"):
                setattr(mod, attr, None)
raise RuntimeError("poisoned")
""",
        "poisoned|could not be formatted",  # it broke its own copy of the error formatting
    ),
    _e(
        "builtins_import_restored",
        '__builtins__["__import__"] = real_import\nimport os as o2\no2.open("/etc/shadow", 0)',
    ),
    # --- resources ----------------------------------------------------------------------------
    _e("memory_bomb", "x = bytearray(10**10)", "memory limit", frozenset({"MEMORY_LIMIT"})),
    _e(
        "memory_growth",
        "x = []\nwhile True:\n    x.append(bytearray(1 << 20))",
        "memory limit",
        frozenset({"MEMORY_LIMIT"}),
    ),
    _e("numpy_memory_bomb", 'module("numpy").ones(10**10)', "memory limit", MEMORY),
    _e("infinite_loop", "while True:\n    pass", "limit", frozenset({"CPU_LIMIT", "TIMEOUT"})),
    _e("deep_recursion", "def f(n):\n    return f(n + 1)\nf(0)", "maximum recursion depth"),
    # A C-level recursion with no depth guard: hashing a million nested tuples. (repr of nested
    # lists crashes the same way but scans every enclosing list at each level: ~0.7-1.0 s of
    # CPU before the crash, racing the 1 s CPU limit; this takes ~0.05-0.3 s.)
    _e(
        "c_stack_overflow",
        "sys.setrecursionlimit(10**8)\nx = ()\nfor _ in range(10**6):\n    x = (x,)\nhash(x)",
        "crashed the interpreter|recursion|memory limit",
        frozenset({"PROGRAM_ERROR", "MEMORY_LIMIT"}),
    ),
    _e(
        "giant_output",
        "while True:\n    print('z' * 100_000)",
        "printed",
        frozenset({"OUTPUT_TOO_LARGE"}),
    ),
    _e(
        "giant_output_raw_fds",
        """
for _ in range(20):
    for fd in range(3, 10):
        try:
            os.write(fd, b"z" * 100_000)
        except OSError:
            pass
raise RuntimeError("nothing was too large")
""",
        "output exceeded",
        frozenset({"OUTPUT_TOO_LARGE"}),
    ),
    _e(  # a result line of its own, claiming another failure: still its own failure
        "forged_result_line",
        """
os.write(3, b'{"ok": false, "error_code": "TIMEOUT", "error": "forged"}\\n')
os._exit(0)
""",
        "result of its own",
    ),
    # --- other runs and the zygote (issue 20): every call that can name another process ------
    _e(
        "prlimit_neighbours_nproc",
        NEIGHBOURS + 'reach(lambda pid: R.prlimit(pid, R.RLIMIT_NPROC, (0, 0)), "limited")',
        UNREACHED,
    ),
    _e(
        "rttime_covert_channel",
        NEIGHBOURS + 'reach(lambda pid: R.prlimit(pid, R.RLIMIT_RTTIME, (4242, -1)), "wrote to")',
        UNREACHED,
    ),
    _e(
        "setpriority_neighbours",
        NEIGHBOURS + 'reach(lambda pid: os.setpriority(os.PRIO_PROCESS, pid, 19), "niced")',
        UNREACHED,
    ),
    _e(
        "setpriority_whole_user",
        'os.setpriority(os.PRIO_USER, os.getuid(), 19)\nraise RuntimeError("niced the user")',
    ),
    _e(
        "sched_idle_neighbours",
        NEIGHBOURS
        + "reach(lambda pid: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0)),"
        + ' "idled")',
        UNREACHED,
    ),
    _e(
        "sched_affinity_neighbours",
        NEIGHBOURS + 'reach(lambda pid: os.sched_setaffinity(pid, {0}), "pinned")',
        UNREACHED,
    ),
    _e(
        "fcntl_setown_sigkill",
        NEIGHBOURS
        + """
F = module("fcntl")
def arm(pid):
    F.fcntl(3, F.F_SETOWN, pid)
    F.fcntl(3, 10, 9)  # F_SETSIG: SIGKILL instead of SIGIO
    F.fcntl(3, F.F_SETFL, F.fcntl(3, F.F_GETFL) | os.O_ASYNC)
reach(arm, "armed SIGKILL for")
""",
        UNREACHED,
    ),
    _e(
        "clear_parent_death_signal",
        'check(libc()[1].prctl(1, 0, 0, 0, 0), "prctl")\nraise RuntimeError("cleared it")',
    ),
    _e("stat_outside", "raise RuntimeError(f\"saw {os.stat('/etc/passwd')}\")", NO_PATH),
    _e(
        "access_outside",
        'if os.access("/etc/passwd", os.F_OK):\n    raise RuntimeError("found /etc/passwd")\n'
        'raise FileNotFoundError(2, "No such file or directory")',
        NO_PATH,
    ),
    _e("memfd_outside_limit", 'fd = os.memfd_create("x")\nraise RuntimeError(f"memfd {fd}")'),
    _e("pipes_outside_limit", 'r, w = os.pipe()\nraise RuntimeError(f"pipe {r}, {w}")'),
    # --- signals and time ---------------------------------------------------------------------
    _e(
        "ignore_sigxcpu",
        'sig = module("signal")\nsig.signal(sig.SIGXCPU, sig.SIG_IGN)\nwhile True:\n    pass',
        "CPU limit|wall-clock",
        frozenset({"CPU_LIMIT", "TIMEOUT"}),
    ),
    _e(
        "ignore_sigterm_sigalrm_and_sleep",
        """
sig = module("signal")
for s in (sig.SIGTERM, sig.SIGALRM, sig.SIGINT, sig.SIGHUP):
    sig.signal(s, sig.SIG_IGN)
module("time").sleep(600)
""",
        "wall-clock",
        frozenset({"TIMEOUT"}),
    ),
    _e(
        "slow_drip_output",
        'time = module("time")\nwhile True:\n    print("drip")\n    time.sleep(0.05)',
        "wall-clock",
        frozenset({"TIMEOUT"}),
    ),
    # --- text and result-channel abuse (issue 20) ---------------------------------------------
    # Compiling is checked in a helper process within a budget (sandbox/compile_check.py): an
    # f-string of 65,500 fields takes ~3 s to compile (quadratic), a pattern of 6,000 captures
    # ~1.5 GB. Both used to be compiled on the API's and the worker's event loop.
    _e(
        "compile_time_bomb",
        's = f"' + "{1}" * 65_500 + '"',
        "too complex to compile within",
        frozenset({"INVALID_PROGRAM"}),
    ),
    _e(
        "compile_memory_bomb",
        "match 1:\n    case [" + ", ".join(f"a{i}" for i in range(6_000)) + "]:\n        pass",
        "too complex to compile",
        frozenset({"INVALID_PROGRAM"}),
    ),
    # Text the platform cannot store or send (lone surrogates, NUL) is replaced where it enters.
    _e("surrogate_in_error", 'raise ValueError("\\ud800 bad text")', "ValueError: \ufffd bad text"),
    _e(
        "surrogate_and_nul_in_logs",
        'print("\\ud800\\x00 bad text")\nraise RuntimeError("printed")',
        "RuntimeError: printed",
    ),
    _e(
        "result_line_bomb",
        """
bad = "\\\\ud800" * 15_000  # ~180 KB: under the output cap
os.write(3, ('{"ok": false, "error_code": "PROGRAM_ERROR", "error": "%s", "logs": "%s"}\\n'
             % (bad, bad)).encode())
os._exit(0)
""",
        "\ufffd{1000}",
    ),
    # After its code started, whatever the program does on the result channel is its failure,
    # never SANDBOX_FAILURE, which means a fault of the platform.
    _e(
        "forged_platform_failure",
        """
os.write(3, b'{"ok": false, "error_code": "SANDBOX_FAILURE", "error": "forged"}\\n')
os._exit(0)
""",
        "result of its own.*SANDBOX_FAILURE",
    ),
    _e(
        "unhashable_error_code",
        """
os.write(3, b'{"ok": false, "error_code": []}\\n')
os._exit(0)
""",
        "result of its own",
    ),
    _e(
        "garbage_result_line",
        'os.write(3, b"\\xff\\xfe not json " * 10_000 + b"\\n")\nos._exit(0)',
        "wrote an unreadable result",
    ),
    _e("exit_without_result", "os._exit(0)", "ended without a result"),
]
