"""Engine throughput: env-steps per second and peak memory per game, for every registered scenario, and a
comparison with JaxMARL's SMAX on the settings it benchmarks.

Run from the repository root:

    python benchmarks/engine.py                      # everything: all scenarios, B = 1, 16, 256, 1024, 4096
    python benchmarks/engine.py --quick              # a smoke run: B = 1 and 16, 3 steps
    python benchmarks/engine.py --scenarios Skirmish3m-v1,MoveToBeacon --batch-sizes 1,1024 --steps 20
    python benchmarks/engine.py --only smax          # just the SMAX comparison (or --only scenarios)
    python benchmarks/engine.py --profile 1024       # per-pass costs of env.step on the SMAX settings at B = 1024
    python benchmarks/engine.py --engine torch       # the torch passes (default auto: the compiled kernel where it
                                                     # applies); --engine compiled: torch.compile of them
    python benchmarks/engine.py --threads 1          # one CPU thread for torch and XLA (the reported figures)
    python benchmarks/engine.py --device cuda        # cpu, cuda or all (default: cpu, plus cuda when present)

A full run takes a long time on a small CPU; run it in the background (`nohup python benchmarks/engine.py >
bench.txt 2>&1 &`). Each table row is printed as soon as it is measured, and the tables again at the end.

What is measured
- The batched environment `arena.make(id, num_envs=B, device=...)`, stepped with random actions (`--actions
  random`, the default: a uniform pysc2 function among the available ones with uniform arguments, drawn with a
  seeded torch.Generator inside the timed loop) or no-ops (`--actions no_op`). Observations, rewards and next-step
  autoreset are all part of each step. `--warmup` steps first, then `--steps` timed steps, more if they took less
  than `--min-seconds`, fewer once `--cell-seconds` have passed (at least one); the row says how many it timed.
  Env-steps/s = B x timed steps / seconds. Each row also shows the machine's 1-minute load average: other
  processes on a small machine slow the cells down.
- Threads: `--threads 1` runs torch on one thread and XLA single-threaded (XLA_FLAGS=--xla_cpu_multi_thread_eigen=
  false). On a loaded 2-core machine this is both fairer and much faster for torch, whose many small parallel ops
  each wait for their slowest thread; `--threads 0` (default) keeps each library's own default.
- Interfaces: "layers" is the default InterfaceFormat() (64 x 64 screen and minimap feature layers and
  feature_units); "units" is InterfaceFormat(feature_layers=False) (feature_units only); "raw" (the SMAX table) is
  InterfaceFormat(feature_layers=False, feature_units=False, raw_units=True). A cell whose predicted memory (per-game
  peak of the previous batch size x B) exceeds `--memory-gb`, or whose predicted step time exceeds
  `--max-step-seconds`, is skipped and says so.
- Peak memory per game, CPU: the peak resident set size of the process while the environment is created, warmed up
  and timed (Linux /proc/self/status VmHWM, reset through /proc/self/clear_refs before each cell), minus the resident
  size before it, divided by B. glibc is told to serve every allocation of 64 KiB or more with mmap so that freed
  tensors leave the resident set. tracemalloc is not used: it only sees Python's allocator, not torch's tensors.
  CUDA: torch.cuda.max_memory_allocated() minus the memory allocated before the cell, divided by B.
- SMAX (JaxMARL 0.2): HeuristicEnemySMAX on SMAC's "3m", "2s3z" and "27m_vs_30m", 32 x 32 map, 8 world steps per
  env step, unit-list observations; random agent actions (uniform over each agent's action space, as JaxMARL's
  smax/speed.py does), jax.vmap over B games and jax.lax.scan over the timed steps inside one jax.jit (SMAX's own
  benchmark layout; its autoreset is inside `step`). The jitted rollout is called until it stops compiling (its
  cache size no longer grows), then called again and timed until the same step rule as ours is met; each SMAX cell
  runs right after ours at the same B. Ours runs the matching Skirmish scenarios (arena/scenarios/skirmish.py)
  with the "raw" interface and 8 game loops per step; the ratio is ours / SMAX.

Installing the bench extra (JaxMARL and JAX, CPU) next to torch 2.13.0. `pip install jaxmarl` itself would pull in
gymnax, which pins gymnasium<1.4 and so downgrades the gymnasium this project uses; SMAX does not need gymnax. So:

    pip install jax jaxlib flax chex jaxtyping matplotlib pillow safetensors   # jaxmarl's imports; torch untouched
    pip install --no-deps "jaxmarl>=0.2"

(`pip check` then reports only "jaxmarl requires gymnax, which is not installed", which is harmless for SMAX.)
Without JaxMARL the SMAX column is skipped with a line that says how to install it.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import dataclasses
import enum
import functools
import inspect
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import arena  # noqa: E402
import arena.core  # noqa: E402
import arena.sim.step  # noqa: E402
from agents.random_agent import uniform_available  # noqa: E402
from arena import BatchedAction, InterfaceFormat  # noqa: E402

SMAX_SETTINGS = {"Skirmish3m-v1": "3m", "Skirmish2s3z-v1": "2s3z", "Skirmish27mVs30m-v1": "27m_vs_30m"}
"""Our scenario -> the SMAC map SMAX runs."""
STEP_MUL = 8
INSTALL_HINT = ('SMAX column skipped: jaxmarl is not importable. Install the bench extra with `pip install jax jaxlib '
                'flax chex jaxtyping matplotlib pillow safetensors && pip install --no-deps "jaxmarl>=0.2"` '
                '(see this file\'s docstring).')


class Interface(enum.Enum):
    LAYERS = "layers"
    UNITS = "units"
    RAW = "raw"

    @property
    def format(self) -> InterfaceFormat:
        if self is Interface.LAYERS:
            return InterfaceFormat()
        if self is Interface.UNITS:
            return InterfaceFormat(feature_layers=False)
        return InterfaceFormat(feature_layers=False, feature_units=False, raw_units=True)


class Actions(enum.Enum):
    RANDOM = "random"
    NO_OP = "no_op"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Args:
    batch_sizes: tuple[int, ...] = (1, 16, 256, 1024, 4096)
    """Numbers of games stepped together."""
    steps: int = 20
    """Timed steps per cell (fewer when --cell-seconds runs out first)."""
    warmup: int = 2
    """Untimed steps before timing."""
    cell_seconds: float = 20.0
    """Stop timing a cell after this many seconds (at least one timed step)."""
    min_seconds: float = 2.0
    """Keep timing a cell past --steps until this many seconds have passed (small batches are otherwise too quick
    to time)."""
    max_step_seconds: float = 60.0
    """Skip a cell whose one step is predicted to take longer than this."""
    memory_gb: float = 8.0
    """Skip a cell whose predicted peak memory exceeds this."""
    scenarios: tuple[str, ...] = ()
    """Scenario ids (default: every registered one)."""
    devices: tuple[str, ...] = ("cpu",)
    actions: Actions = Actions.RANDOM
    only: str = "all"
    """all, scenarios (the per-scenario table) or smax (the SMAX comparison)."""
    engine: str = "auto"
    """What runs the game loop (arena.sim.step.Engine): auto, kernel, torch or compiled."""
    profile: int = 0
    """Profile env.step per pass on the SMAX settings at this batch size instead of benchmarking (0: off)."""
    threads: int = 0
    """CPU threads for torch (and, when 1, single-threaded XLA for SMAX); 0 keeps the libraries' defaults."""


@dataclasses.dataclass(frozen=True)
class Row:
    scenario: str
    interface: str
    device: str
    batch: int
    steps: int = 0
    seconds: float = 0.0
    memory_per_game: float | None = None
    """Bytes."""
    note: str = ""

    @property
    def steps_per_second(self) -> float | None:
        return self.batch * self.steps / self.seconds if self.steps and self.seconds > 0 else None


# ---------------------------------------------------------------------------------------------------- memory


def _set_malloc(mmap_threshold: int, trim_threshold: int) -> None:
    """glibc's thresholds, then give the heap's free memory back to the OS (so the next cell's RSS growth counts
    its own allocations, not reuse of this one's)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, mmap_threshold)
        libc.mallopt(m_trim_threshold, trim_threshold)
        libc.malloc_trim(0)


def _malloc_tracks_live_memory() -> None:
    """Serve allocations of 64 KiB and more with mmap (returned to the OS on free), so RSS tracks live tensors. Every
    such allocation then maps and faults in fresh pages, which slows stepping down by about a third: memory is
    measured while creating and warming up, and `_malloc_for_speed` is set before timing."""
    _set_malloc(64 * 1024, 128 * 1024)


def _malloc_for_speed() -> None:
    """glibc's largest mmap threshold (32 MiB) and a large trim threshold: freed tensors' memory is reused."""
    _set_malloc(32 * 1024 * 1024, 256 * 1024 * 1024)


def _status_kb(field: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


class PeakMemory:
    """Peak memory used between start() and stop(): process RSS on CPU, the CUDA caching allocator on CUDA."""

    def __init__(self, device: torch.device):
        self.device = device
        self.base = 0

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.base = (_status_kb("VmRSS") or 0) * 1024

    def stop(self) -> int | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) - self.base
        peak = _status_kb("VmHWM")
        return None if peak is None else max(peak * 1024 - self.base, 0)


# ---------------------------------------------------------------------------------------------------- ours


def random_actions(available: torch.Tensor, fmt: InterfaceFormat, gen: torch.Generator) -> BatchedAction:
    """A uniform available function per game with uniform argument values."""
    B, device = available.shape[0], available.device
    S, M = fmt.screen_size, fmt.minimap_size

    def ints(high: int, *shape: int) -> torch.Tensor:
        return torch.randint(0, high, (B,) + shape, generator=gen, device=device)

    function = uniform_available(available.bool(), gen)
    return BatchedAction(function=function, screen=ints(S, 2), minimap=ints(M, 2), screen2=ints(S, 2),
                         queued=ints(2), select_point_act=ints(4), select_add=ints(2), control_group_act=ints(5),
                         control_group_id=ints(10), select_worker=ints(4))


def _load() -> str:
    """The 1-minute load average: other processes on the machine slow every cell down."""
    return f"load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(scenario: str, interface: Interface, device: torch.device, batch: int, args: Args) -> Row:
    """Create, warm up and time one environment."""
    fmt = interface.format
    _malloc_tracks_live_memory()
    memory = PeakMemory(device)
    memory.start()
    env = arena.make(scenario, num_envs=batch, device=device, step_mul=STEP_MUL, interface=fmt,
                     engine=args.engine)
    obs, _ = env.reset(seed=0)
    gen = torch.Generator(device=device)
    gen.manual_seed(0)
    no_op = BatchedAction.no_op(batch, device=device)

    def act(observation: dict[str, torch.Tensor]) -> BatchedAction:
        if args.actions is Actions.NO_OP:
            return no_op
        return random_actions(observation["available_actions"], fmt, gen)

    for _ in range(args.warmup):
        obs, *_ = env.step(act(obs))
    _sync(device)
    peak = memory.stop()
    _malloc_for_speed()
    steps, start = 0, time.perf_counter()
    while keep_timing(steps, time.perf_counter() - start, args):
        obs, *_ = env.step(act(obs))
        steps += 1
    _sync(device)
    seconds = time.perf_counter() - start
    env.close()
    del env, obs
    return Row(scenario, interface.value, str(device), batch, steps, seconds,
               None if peak is None else peak / batch, note=_load())


def keep_timing(steps: int, elapsed: float, args: Args) -> bool:
    """At least one step; then up to --steps steps, or more to fill --min-seconds; never past --cell-seconds."""
    if steps == 0:
        return True
    return elapsed < args.cell_seconds and (steps < args.steps or elapsed < args.min_seconds)


def skip_reason(previous: Row | None, batch: int, args: Args) -> str:
    """Why a cell should not be run, predicted from the same series at the previous batch size ('' to run it)."""
    if previous is None or not previous.steps:
        return ""
    scale = batch / previous.batch
    # Below 16 games the one-time costs of the first cell (lazy initialisation) dominate memory per game.
    if previous.memory_per_game is not None and previous.batch >= 16 and \
            previous.memory_per_game * batch > args.memory_gb * 2**30:
        return f"skipped: ~{previous.memory_per_game * batch / 2**30:.0f} GB predicted > --memory-gb {args.memory_gb:g}"
    step_seconds = previous.seconds / previous.steps * scale
    if step_seconds > args.max_step_seconds:
        return f"skipped: ~{step_seconds:.0f} s per step predicted > --max-step-seconds {args.max_step_seconds:g}"
    return ""


def sweep(scenario: str, interface: Interface, device: torch.device, args: Args, sink) -> list[Row]:
    """One scenario and interface over all batch sizes, skipping what is predicted not to fit."""
    rows: list[Row] = []
    previous: Row | None = None
    for batch in args.batch_sizes:
        row = measure_cell(scenario, interface, device, batch, previous, args)
        previous = row if row.steps else previous
        rows.append(row)
        sink(row)
    return rows


def measure_cell(scenario: str, interface: Interface, device: torch.device, batch: int, previous: Row | None,
                 args: Args) -> Row:
    """Time one cell, or say why it was skipped (predicted from `previous`, the same series at a smaller B)."""
    reason = skip_reason(previous, batch, args)
    if reason:
        return Row(scenario, interface.value, str(device), batch, note=reason)
    try:
        return time_ours(scenario, interface, device, batch, args)
    except (RuntimeError, MemoryError) as error:  # out of memory, mostly
        return Row(scenario, interface.value, str(device), batch, note=f"failed: {str(error)[:80]}")


# ---------------------------------------------------------------------------------------------------- SMAX


def smax_available() -> bool:
    try:
        import jaxmarl  # noqa: F401
        from jaxmarl.environments.smax import HeuristicEnemySMAX  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not installed properly"
        return False
    return True


def time_smax(map_name: str, batch: int, args: Args) -> Row:
    """HeuristicEnemySMAX with random agent actions: vmap over games, scan over steps, all in one jit."""
    import jax
    from jaxmarl.environments.smax import HeuristicEnemySMAX, map_name_to_scenario

    env = HeuristicEnemySMAX(scenario=map_name_to_scenario(map_name), world_steps_per_env_step=STEP_MUL)
    agents = env.agents
    num_actions = env.action_space(agents[0]).n

    def body(carry, _):
        state, key = carry
        key, action_key, step_key = jax.random.split(key, 3)
        chosen = jax.random.randint(action_key, (len(agents), batch), 0, num_actions)
        actions = {agent: chosen[i] for i, agent in enumerate(agents)}
        _, state, rewards, _, _ = jax.vmap(env.step)(jax.random.split(step_key, batch), state, actions)
        return (state, key), rewards[agents[0]].sum()

    steps = args.steps
    rollout = jax.jit(lambda state, key: jax.lax.scan(body, (state, key), None, steps))
    reset = jax.jit(lambda key: jax.vmap(env.reset)(jax.random.split(key, batch)))
    _, state = reset(jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(1)
    compiled_versions = -1
    while rollout._cache_size() != compiled_versions:  # warm up until a call compiles nothing new
        compiled_versions = rollout._cache_size()
        (state, key), _ = jax.block_until_ready(rollout(state, key))
    done, start = 0, time.perf_counter()
    while keep_timing(done, time.perf_counter() - start, args):
        (state, key), _ = jax.block_until_ready(rollout(state, key))
        done += steps
    return Row(map_name, "smax", "cpu (jax)", batch, done, time.perf_counter() - start, note=_load())


# ---------------------------------------------------------------------------------------------------- output


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def format_row(row: Row) -> str:
    return (f"{row.scenario:<30} {row.interface:<7} {row.device:<10} {row.batch:>6} {_rate(row.steps_per_second):>12} "
            f"{row.steps:>5} {_bytes(row.memory_per_game):>10}  {row.note}")


HEADER = (f"{'scenario':<30} {'iface':<7} {'device':<10} {'B':>6} {'env-steps/s':>12} {'steps':>5} "
          f"{'mem/game':>10}  note")


def print_line(text: str = "") -> None:
    print(text, flush=True)


def print_comparison(ours: list[Row], smax: list[Row]) -> None:
    by_key = {(SMAX_SETTINGS[r.scenario], r.batch): r for r in ours if r.scenario in SMAX_SETTINGS}
    print_line(f"{'setting':<12} {'B':>6} {'ours env-steps/s':>17} {'SMAX env-steps/s':>17} {'ours / SMAX':>12}")
    for row in smax:
        mine = by_key.get((row.scenario, row.batch))
        a, b = (mine.steps_per_second if mine else None), row.steps_per_second
        ratio = f"{a / b:.3f}" if a and b else "-"
        print_line(f"{row.scenario:<12} {row.batch:>6} {_rate(a):>17} {_rate(b):>17} {ratio:>12}  {row.note}")


def print_environment(args: Args) -> None:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    print_line(f"# torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
               f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, "
               f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
               f"load average {', '.join(f'{x:.2f}' for x in load)}")
    print_line(f"# actions: {args.actions.value}; {STEP_MUL} game loops per step; warm-up {args.warmup} steps; "
               f"{args.steps} timed steps (more to fill {args.min_seconds:g} s, fewer past {args.cell_seconds:g} s) "
               f"per cell; engine: {args.engine}")
    print_line("# mem/game: peak RSS growth (CPU, VmHWM reset per cell) or torch.cuda.max_memory_allocated growth "
               "(CUDA) while creating and warming up the env (timing runs after, with malloc left free to reuse "
               "memory), / B")


# ---------------------------------------------------------------------------------------------------- profile


class PassTimer:
    """Self time of wrapped functions (a function's time minus that of wrapped functions it calls)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.self_time: dict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter[str] = collections.Counter()
        self._children: list[float] = []

    def wrap(self, label: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self._children.append(0.0)
            _sync(self.device)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                _sync(self.device)
                elapsed = time.perf_counter() - start
                self.self_time[label] += elapsed - self._children.pop()
                self.calls[label] += 1
                if self._children:
                    self._children[-1] += elapsed
        return timed


ENV_PASSES = {"perceive": "perceive (visibility)", "apply_action": "apply_action", "observe": "observation",
              "visible_cells": "visible_cells (fog)", "put_games": "autoreset (put_games)"}


@contextlib.contextmanager
def instrumented(env: arena.ArenaEnv, timer: PassTimer):
    """Wrap the engine's passes (module globals of arena.sim.step and arena.core) and the scenario's rules."""
    # Every function game_loop calls by name (the engine's passes change; wrap whatever is there).
    engine = {name: f"sim: {name}" for name, value in vars(arena.sim.step).items()
              if inspect.isfunction(value) and name not in ("run_loops", "unit_table")}
    env_passes = {name: label for name, label in ENV_PASSES.items() if hasattr(arena.core, name)}
    saved = []
    for module, names in ((arena.sim.step, engine), (arena.core, env_passes)):
        for name, label in names.items():
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, timer.wrap(label, getattr(module, name)))
    scenario = env.scenario
    for name, label in (("loop_rule", "scenario rules (loop_rule)"), ("initial_state", "spawn (initial_state)"),
                        ("terminated", "scenario terminated")):
        setattr(scenario, name, timer.wrap(label, getattr(scenario, name)))
    try:
        yield
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)
        for name in ("loop_rule", "initial_state", "terminated"):
            delattr(scenario, name)


def profile_step(scenario: str, batch: int, device: torch.device, args: Args) -> None:
    """Per-pass self times of env.step, then the top torch operators."""
    fmt = Interface.RAW.format
    env = arena.make(scenario, num_envs=batch, device=device, step_mul=STEP_MUL, interface=fmt, engine=args.engine)
    obs, _ = env.reset(seed=0)
    gen = torch.Generator(device=device)
    gen.manual_seed(0)
    for _ in range(args.warmup):
        obs, *_ = env.step(random_actions(obs["available_actions"], fmt, gen))
    timer = PassTimer(device)
    steps = max(2, min(args.steps, 10))
    with instrumented(env, timer):
        step = timer.wrap("env.step (the rest)", env.step)
        start = time.perf_counter()
        for _ in range(steps):
            obs, *_ = step(random_actions(obs["available_actions"], fmt, gen))
        total = time.perf_counter() - start
    print_line(f"\n## {scenario}, B = {batch}, {device}: {total / steps * 1e3:.1f} ms per env step "
               f"({batch * steps / total:,.0f} env-steps/s, {steps} steps; action sampling outside env.step)")
    print_line(f"{'pass':<36} {'ms/step':>9} {'share':>7} {'calls/step':>11}")
    for label, seconds in sorted(timer.self_time.items(), key=lambda kv: -kv[1]):
        print_line(f"{label:<36} {seconds / steps * 1e3:>9.2f} {seconds / total:>7.1%} "
                   f"{timer.calls[label] / steps:>11.0f}")
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(2):
            obs, *_ = env.step(random_actions(obs["available_actions"], fmt, gen))
    print_line("top torch operators (2 steps):")
    print_line(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


# ---------------------------------------------------------------------------------------------------- main


def allow_many_compiled_shapes() -> None:
    """One compiled graph per (scenario, batch size): the default limit of 8 graphs per function is too few."""
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = 256


def compare(devices: list[torch.device], args: Args) -> tuple[list[Row], list[Row]]:
    """Ours (raw unit list) and SMAX on the same settings, each SMAX cell right after ours on the CPU at the same B
    (so both see the same machine load)."""
    with_smax = smax_available()
    if not with_smax:
        print_line(INSTALL_HINT)
    print_line("\n# SMAX settings: ours (raw unit list)" + (" and SMAX (HeuristicEnemySMAX, jit + vmap + scan, CPU)"
                                                          if with_smax else "") + "\n" + HEADER)
    ours: list[Row] = []
    smax: list[Row] = []
    for scenario, map_name in SMAX_SETTINGS.items():
        for device in devices:
            previous: Row | None = None
            for batch in args.batch_sizes:
                row = measure_cell(scenario, Interface.RAW, device, batch, previous, args)
                previous = row if row.steps else previous
                ours.append(row)
                print_line(format_row(row))
                if with_smax and device.type == "cpu":
                    smax.append(time_smax(map_name, batch, args))
                    print_line(format_row(smax[-1]))
    return ours, smax


def set_threads(threads: int) -> None:
    """Fix the CPU thread count of torch, and of XLA (through XLA_FLAGS, before jax is imported) when it is 1."""
    if threads <= 0:
        return
    torch.set_num_threads(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()


def run(args: Args) -> None:
    set_threads(args.threads)
    print_environment(args)
    if args.engine == "compiled":
        allow_many_compiled_shapes()
    devices = [torch.device(d) for d in args.devices]
    if args.profile:
        for scenario in SMAX_SETTINGS:
            for device in devices:
                profile_step(scenario, args.profile, device, args)
        return
    # Two-player scenarios (a different protocol, with fairness limits) are measured by benchmarks/two_player.py.
    scenarios = list(args.scenarios) or [s for s in arena.scenario_ids() if arena.make_scenario(s).spec.num_agents == 1]
    table: list[Row] = []
    if args.only in ("all", "scenarios"):
        print_line("\n# Every registered scenario\n" + HEADER)
        for device in devices:
            for scenario in scenarios:
                for interface in (Interface.LAYERS, Interface.UNITS):
                    table += sweep(scenario, interface, device, args, lambda r: print_line(format_row(r)))
    ours: list[Row] = []
    smax: list[Row] = []
    if args.only in ("all", "smax"):
        ours, smax = compare(devices, args)
    print_line("\n# Summary")
    print_environment(args)
    if table:
        print_line("\n" + HEADER)
        for row in table:
            print_line(format_row(row))
    if ours:
        print_line("\n" + HEADER)
        for row in ours:
            print_line(format_row(row))
    if smax:
        print_line("\n# ours / SMAX (ours on cpu)")
        print_comparison([r for r in ours if r.device == "cpu"], smax)
    if args.engine == "compiled":
        from torch._dynamo.utils import counters
        breaks = sum(counters["graph_break"].values())
        print_line(f"\n# torch.compile: {breaks} graph breaks in game_loop; each batch size compiles once during its "
                   "warm-up (not timed)")


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Args()
    csv = lambda text: tuple(x for x in text.split(",") if x)  # noqa: E731
    parser.add_argument("--batch-sizes", type=lambda t: tuple(int(x) for x in csv(t)), default=defaults.batch_sizes)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--cell-seconds", type=float, default=defaults.cell_seconds)
    parser.add_argument("--min-seconds", type=float, default=defaults.min_seconds)
    parser.add_argument("--max-step-seconds", type=float, default=defaults.max_step_seconds)
    parser.add_argument("--memory-gb", type=float, default=defaults.memory_gb)
    parser.add_argument("--scenarios", type=csv, default=defaults.scenarios, help="comma-separated ids or names")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default=None,
                        help="default: cpu, plus cuda when present")
    parser.add_argument("--actions", type=Actions, choices=list(Actions), default=defaults.actions)
    parser.add_argument("--only", choices=("all", "scenarios", "smax"), default=defaults.only)
    parser.add_argument("--quick", action="store_true", help="B = 1 and 16, 3 steps, 1 warm-up step")
    parser.add_argument("--engine", choices=("auto", "kernel", "torch", "compiled"), default=defaults.engine,
                        help="what runs the game loop: auto (the compiled kernel on the CPU, torch on a GPU)"
                             ", kernel, torch (eager passes), compiled (torch.compile of them)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for torch and (when 1) XLA; 0: the libraries' defaults")
    parser.add_argument("--profile", type=int, default=0, metavar="B",
                        help="profile env.step per pass on the SMAX settings at batch size B")
    ns = parser.parse_args(argv)
    if ns.profile and ns.engine == "compiled":
        parser.error("--profile times the engine's passes one by one, which a compiled game loop fuses; "
                     "use --engine torch or kernel")
    cuda = torch.cuda.is_available()
    devices = {"cpu": ("cpu",), "cuda": ("cuda",), "all": ("cpu", "cuda"), None: ("cpu", "cuda") if cuda else ("cpu",)}
    args = Args(batch_sizes=ns.batch_sizes, steps=ns.steps, warmup=ns.warmup, cell_seconds=ns.cell_seconds,
                min_seconds=ns.min_seconds,
                max_step_seconds=ns.max_step_seconds, memory_gb=ns.memory_gb,
                scenarios=tuple(arena.scenarios.registry.resolve_id(s) for s in ns.scenarios),
                devices=devices[ns.device], actions=ns.actions, only=ns.only, engine=ns.engine,
                profile=ns.profile, threads=ns.threads)
    if ns.quick:
        args = dataclasses.replace(args, batch_sizes=(1, 16), steps=3, warmup=1, min_seconds=0.0)
    return args


if __name__ == "__main__":
    run(parse_args())
