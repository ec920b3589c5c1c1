"""Ray glue: the embedded or remote Ray session, and the Tune searcher that drives the generator.

Ray Tune schedules the trials (resources per trial, concurrency, a local machine or a cluster);
gas's `GasSearcher` answers Tune's `suggest` with the generator's `ask`, so infeasible and duplicate
proposals are settled in the generator and never reach Tune (Ray's own OptunaSearch would ignore
Optuna constraints). Tune is kept light: no result loggers, no checkpoints, verbose=0.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gas.cluster import connect_error, prepare_connection, resolve_address
from gas.fidelity import EXAMPLES_KEY, Prescreen, TrainedExamples
from gas.generator import Generator, Proposal
from gas.ray_auth import quiet_auth_warnings
from gas.trial import ERROR_KEY, METRICS_KEY, NO_RETRY_KEY, SCREENED_KEY

__all__ = ["RAY_SESSION_FILE", "GasSearcher", "RaySession", "ray_session", "run_tune", "worker_runtime_env"]

RAY_SESSION_FILE = "ray_session.json"


@dataclass(frozen=True)
class RaySession:
    """The Ray a search runs on: its CPUs, its live nodes' resources, and the session directory of
    an embedded Ray gas started."""

    cpus: float
    nodes: tuple[dict[str, float], ...] = ()  # ray.nodes()[i]["Resources"] of the nodes alive at connection
    session_dir: str | None = None  # None on a cluster, or a Ray this process had initialised before

    def record(self, run_dir: Path) -> None:
        """Write the embedded Ray's session directory to the run dir, so the processes of a driver that
        was killed can be found and stopped without touching any other Ray."""
        if self.session_dir is not None:
            data = {"session_dir": self.session_dir, "driver_pid": os.getpid()}
            (run_dir / RAY_SESSION_FILE).write_text(json.dumps(data))


@contextmanager
def ray_session(address: str | None) -> Iterator[RaySession]:
    """Connect to `address` (or $RAY_ADDRESS), else start an embedded local Ray that joins no other.

    A Ray already initialised in this process (a notebook, the test suite) is used as it is and
    left running. An explicit address is probed first (`prepare_connection`), so an unreachable
    cluster or a refused token ends in one GasError line within seconds instead of a hang inside
    ray.init.
    """
    import ray

    if ray.is_initialized():
        yield RaySession(_cluster_cpus(ray), _live_nodes(ray))
        return
    address = resolve_address(address)
    _init_ray(ray, address)
    try:
        yield RaySession(_cluster_cpus(ray), _live_nodes(ray), _session_dir(ray) if address is None else None)
    finally:
        ray.shutdown()


def _cluster_cpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("CPU", 1))


def _live_nodes(ray: Any) -> tuple[dict[str, float], ...]:
    return tuple(dict(node.get("Resources") or {}) for node in ray.nodes() if node.get("Alive"))


def _session_dir(ray: Any) -> str:
    """The embedded Ray's session directory: `<temp dir>/<session name>`, from Ray's public runtime context."""
    context = ray.get_runtime_context()
    return os.path.join(context.get_temp_dir(), context.get_session_name())


def worker_runtime_env() -> dict[str, Any]:
    """The runtime environment gas asks for its Ray workers: one malloc arena per process.

    Tune runs each trial in a thread of a worker process that already has many threads, so glibc
    gives the trial its own malloc arena, and such an arena unmaps and re-maps its memory as a model's
    activations come and go: a grad_norm evaluation of a turbovit_ref-size model spent 2.5 s of its
    4.2 s in page faults. With one arena (the main heap, which `evaluators.allocator.keep_heap`
    keeps) the same evaluation takes 1.6 s, as in a plain process. The environment variable must be
    set before the worker starts, hence here rather than in the trial. A value the user already
    exported is respected (and reaches the workers with the rest of their environment).
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return {}
    return {"env_vars": {"MALLOC_ARENA_MAX": "1"}}


EMBEDDED_WORKER_NICENESS = 0
"""What the embedded Ray adds to its workers' niceness. Ray adds 15 (`worker_niceness`), putting
trials below anything else on the machine: a trial timing latency beside any other work is then
descheduled in its favour, and measures that (a latency benchmark here read 38 of 40 candidates
over a budget set from the same blueprints timed in the foreground). The trials are the work the
user started, so they run at the priority of the command that started them. A cluster's nodes keep
what `ray start` gave them (`RAY_worker_niceness=0 ray start ...` to match)."""


def _init_ray(ray: Any, address: str | None) -> None:
    """ray.init on the cluster at `address`, or a new local instance (address "local") when None."""
    target = prepare_connection(address)
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING,
               "runtime_env": worker_runtime_env()}
    if address is None:
        options["num_cpus"] = os.cpu_count()
        options["_system_config"] = {"worker_niceness": EMBEDDED_WORKER_NICENESS}
    try:
        with quiet_auth_warnings():
            ray.init(address=target, **options)
    except Exception as error:  # noqa: BLE001 - ConnectionError, RuntimeError, AuthenticationError, ...
        raise connect_error(address, error) from None


def _searcher_base() -> type:
    from ray.tune.search import Searcher

    return Searcher


class GasSearcher(_searcher_base()):
    """A Tune Searcher over the generator: one Tune trial per novel feasible proposal."""

    def __init__(self, generator: Generator, *, evaluations: int, prescreen: Prescreen | None = None,
                 examples: TrainedExamples | None = None):
        super().__init__(metric=None, mode=None)
        self.generator = generator
        self.remaining = evaluations
        self.prescreen = prescreen
        self.examples = examples  # the learning screen's teaching material, sent with every trial
        self.live: dict[str, Proposal] = {}

    def _error_of(self, trial_id: str) -> str:
        """The last line of the error Tune recorded for a crashed or timed-out trial."""
        trial = _STARTED_TRIALS.pop(trial_id, None)
        error = (trial.get_error() if trial is not None else None) or _read(trial and trial.error_file)
        lines = [line for line in str(error or "").splitlines() if line.strip()]
        return lines[-1].strip() if lines else "trial crashed (worker died)"

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its searcher for Tuner.restore; gas resumes from the Optuna storage instead,
        so only the plain fields travel (the study holds locks and connections)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("generator", "live")}

    def save_to_dir(self, *args: Any, **kwargs: Any) -> None:
        """No searcher checkpoints: the Optuna storage already holds every trial."""

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.remaining <= 0:
            return self.FINISHED
        proposal = self.generator.ask()
        if proposal is None:
            return self.FINISHED
        self.remaining -= 1
        self.live[trial_id] = proposal
        config = {"number": proposal.number, "blueprint": proposal.blueprint.canonical_json()}
        if self.prescreen is not None:
            config["prescreen_threshold"] = self.prescreen.threshold()
        if self.examples is not None:
            config[EXAMPLES_KEY] = list(self.examples.examples)
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        proposal = self.live.pop(trial_id, None)
        if proposal is None:
            return
        if self.prescreen is not None and result:
            self.prescreen.observe(result)
        if error or not result:
            self.generator.tell_failed(proposal, self._error_of(trial_id))
        elif result.get(ERROR_KEY):
            self.generator.tell_failed(proposal, str(result[ERROR_KEY]))
        elif result.get(SCREENED_KEY):
            self.generator.tell_screened(proposal, str(result[SCREENED_KEY]), _metrics_of(result))
        elif not _metrics_of(result):
            self.generator.tell_failed(proposal, "trial stopped before it reported any metrics")
        else:  # a trial ASHA stopped: its last epoch's metrics (with stopped_early) are told
            self.generator.tell(proposal, _metrics_of(result))
            if self.examples is not None:
                self.examples.observe(proposal.blueprint.model_dump(mode="json"), _metrics_of(result))
        _STARTED_TRIALS.pop(trial_id, None)


_STARTED_TRIALS: dict[str, Any] = {}  # Tune Trial objects by id, in the driver


def _trial_registry() -> Any:
    """A Tune callback recording each started Trial, whose error the searcher reads on failure,
    and turning off retries for a trial that reported it timed out.

    The record is module-level because Tune copies its callbacks; callbacks run in the driver.
    """
    from ray.tune import Callback

    class TrialRegistry(Callback):
        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            _STARTED_TRIALS[trial.trial_id] = trial

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            if result.get(NO_RETRY_KEY):
                trial.max_failures = 0  # Tune reads it when the failure that follows arrives

    return TrialRegistry()


def _metrics_of(result: dict[str, Any]) -> dict[str, Any]:
    """The trainable's metrics from a Tune result (nested, or flattened as `gas_metrics/<key>`)."""
    prefix = METRICS_KEY + "/"
    flat = {k[len(prefix):]: v for k, v in result.items() if k.startswith(prefix)}
    return {**flat, **(result.get(METRICS_KEY) or {})}


def _read(path: str | None) -> str:
    try:
        return Path(path).read_text() if path else ""
    except OSError:
        return ""


def _trial_name(trial: Any) -> str:
    """Short Tune trial names (`trial-<optuna number>`) instead of the blueprint spelled out."""
    return f"trial-{trial.config.get('number', trial.trial_id)}"


def run_tune(trainable: Any, searcher: GasSearcher, *, evaluations: int, concurrency: int,
             cpus_per_trial: float, run_dir: Path, gpus_per_trial: float = 0.0, max_retries: int = 1,
             scheduler: Any = None) -> None:
    """One Tune experiment of `evaluations` trials; a resumed run starts a new experiment.

    A trial whose worker dies (node lost, OOM-killed, SIGKILL) is run again up to `max_retries`
    times (Tune's FailureConfig), then told to the generator as failed. With a `scheduler` (ASHA)
    actors are not reused, so a stopped trial's process and its training thread end with it.
    """
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from ray import tune

    resources = {"cpu": cpus_per_trial, **({"gpu": gpus_per_trial} if gpus_per_trial else {})}
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, num_samples=evaluations, max_concurrent_trials=concurrency,
            reuse_actors=scheduler is None, trial_name_creator=_trial_name, trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=f"session-{len(list((run_dir / 'tune').glob('session-*'))) + 1}",
            storage_path=str((run_dir / "tune").resolve()),
            verbose=0,
            log_to_file=False,
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            failure_config=tune.FailureConfig(max_failures=max_retries),
            callbacks=[_trial_registry()],
        ),
    )
    # Failed trials are recorded in trials.jsonl with their reason; Tune need not print tracebacks.
    # Its end-of-run analysis also looks for result files the disabled loggers never wrote.
    for name in ("ray.tune.execution.tune_controller", "ray.tune.tune", "ray.tune.analysis.experiment_analysis"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    tuner.fit()
