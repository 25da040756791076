"""Exercises: reference solutions pass, typical mistakes fail and are named, files are checked safely,
the learner's work is never overwritten, the watcher re-checks on save, and the CLI ties it together.

The checks that need torch run in as few processes as possible: one for every solution, starter and
wrong solution (`verdicts`), one per CLI check.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from learnapp.content import load_deck
from learnapp.exercises import workspace
from learnapp.exercises.catalog import find, load_exercises
from learnapp.exercises.checks import CHECKERS
from learnapp.exercises.runner import check_file
from learnapp.exercises.verdict import Verdict
from learnapp.exercises.watch import watch
from learnapp.store import Store

EXERCISES = load_exercises()

# Typical wrong solutions: (exercise, text in solution.py, its replacement, words the verdict must say).
WRONG = [
    ("corrupt", "torch.rand_like(x)", "torch.randn_like(x)", "uniform noise"),
    ("corrupt", "x * (1 - amount) + noise * amount", "noise * (1 - amount) + x * amount", "weights are swapped"),
    ("alpha-bar", "torch.cumprod(1.0 - betas, dim=0)", "1.0 - betas", "running product"),
    ("alpha-bar", "torch.cumprod(1.0 - betas, dim=0)", "torch.cumsum(1.0 - betas, dim=0)", "running sum"),
    ("alpha-bar", ", 0.999)", ", 1.0)", "not clipped"),
    (
        "add-noise",
        "alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise",
        "alpha_bar * x0 + (1 - alpha_bar) * noise",
        "√ forgotten",
    ),
    (
        "add-noise",
        "alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise",
        "(1 - alpha_bar).sqrt() * x0 + alpha_bar.sqrt() * noise",
        "swapped",
    ),
    ("add-noise", "[timesteps]", "[timesteps - 1]", "off-by-one"),
    ("training-loss", "F.mse_loss(noise_pred, noise)", "F.mse_loss(noise_pred, clean_images)", "clean image"),
    ("training-loss", "num_train_timesteps, (", "num_train_timesteps - 1, (", "off-by-one"),
    ("ddpm-step", "variance.sqrt() * z", "variance * z", "√ forgotten"),
    ("ddpm-step", "torch.clamp((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t, min=1e-20)", "beta_t", "fixed_large"),
    ("ddpm-step", "alpha_t = alpha_bar_t / alpha_bar_prev", "alpha_t = alpha_bar_t", "α and ᾱ mixed up"),
    ("ddpm-step", " if prev_timestep >= 0 else torch.tensor(1.0)", "", "alphas_cumprod[-1]"),
    ("ddim-step", ".sqrt()", "", "√ forgotten"),
    ("ddim-step", " if prev_timestep >= 0 else torch.tensor(1.0)", "", "negative timestep"),
    ("ddim-inversion", ".sqrt()", "", "√ forgotten"),
    (
        "ddim-inversion",
        "x0 = (sample - (1 - alpha_bar_t).sqrt() * model_output) / alpha_bar_t.sqrt()",
        (
            "x0 = (sample - (1 - alpha_bar_next).sqrt() * model_output) / alpha_bar_next.sqrt()\n"
            "    alpha_bar_next = alpha_bar_t"
        ),
        "wrong direction",
    ),
    (
        "cfg",
        "guidance_scale * (noise_pred_text - noise_pred_uncond)",
        "guidance_scale * (noise_pred_uncond - noise_pred_text)",
        "guidance sign",
    ),
    (
        "cfg",
        "noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)",
        "noise_pred_text, noise_pred_uncond = noise_pred.chunk(2)",
        "halves swapped",
    ),
    ("img2img-strength", "timesteps[t_start:]", "timesteps[:init_timestep]", "first steps instead of the last"),
    ("img2img-strength", "int(num_inference_steps * strength)", "round(num_inference_steps * strength)", "round()"),
    ("class-conditioning", "torch.cat((x, class_cond), 1)", "torch.cat((class_cond, x), 1)", "come first"),
    (
        "class-conditioning",
        "class_emb(class_labels)",
        "torch.nn.functional.one_hot(class_labels, class_emb.num_embeddings).float()",
        "one-hot",
    ),
    (
        "latent-scaling",
        "latents / vae.config.scaling_factor",
        "latents * vae.config.scaling_factor",
        "decode multiplied",
    ),
    ("latent-scaling", ".latent_dist.mean * vae.config.scaling_factor", ".latent_dist.mean", "not scaled"),
    ("mel-round-trip", "librosa.power_to_db", "librosa.amplitude_to_db", "amplitude_to_db"),
    ("mel-round-trip", "clip(0, 255) + 0.5)", "clip(0, 255))", "truncated"),
]

# A wrong solution that raises: the verdict says where, in the learner's file.
RAISES = (
    "class-conditioning",
    "expand(batch, class_cond.shape[1], height, width)",
    "expand(batch, class_cond.shape[1], width, height)",
)

CHECK_ALL = """
import json, sys
from pathlib import Path
from learnapp.exercises.child import check
jobs = json.loads(Path(sys.argv[1]).read_text())
print(json.dumps([check(checker, Path(path)).to_dict() for checker, path in jobs]))
"""


def _wrong_file(folder: Path, index: int, name: str, old: str, new: str) -> Path:
    source = find(name).solution.read_text()
    assert old in source, f"{name}: the solution no longer contains {old!r}"
    path = folder / f"wrong{index}_{name}.py"
    path.write_text(source.replace(old, new))
    return path


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, Verdict]:
    """Every solution, starter and wrong solution checked in ONE process (torch is imported once)."""
    folder = tmp_path_factory.mktemp("wrong")
    jobs = {}
    for exercise in EXERCISES:
        jobs[f"solution {exercise.name}"] = (exercise.checker, exercise.solution)
        jobs[f"starter {exercise.name}"] = (exercise.checker, exercise.starter)
    for index, (name, old, new, _) in enumerate([*WRONG, (*RAISES, "")]):
        jobs[f"wrong {index}"] = (find(name).checker, _wrong_file(folder, index, name, old, new))
    (folder / "jobs.json").write_text(json.dumps([(checker, str(path)) for checker, path in jobs.values()]))
    result = subprocess.run(
        [sys.executable, "-c", CHECK_ALL, str(folder / "jobs.json")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    return {key: Verdict.from_dict(answer) for key, answer in zip(jobs, answers, strict=True)}


def test_at_least_twelve_exercises_each_with_a_topic_of_the_deck_a_checker_and_hints():
    topics = {topic.id for topic in load_deck().topics}
    assert len(EXERCISES) >= 12
    for exercise in EXERCISES:
        assert exercise.topic in topics, exercise.name
        assert exercise.checker in CHECKERS, exercise.name
        assert len(exercise.hints) >= 2 and exercise.why, exercise.name
    assert {e.checker for e in EXERCISES} == set(CHECKERS)


def test_solutions_pass_starters_ask_to_be_written_and_typical_mistakes_are_named(verdicts):
    problems = []
    for exercise in EXERCISES:
        solution, starter = verdicts[f"solution {exercise.name}"], verdicts[f"starter {exercise.name}"]
        if not solution.passed:
            problems.append(f"{exercise.name}: the reference solution fails:\n{solution.text()}")
        if starter.kind != "error" or "not written yet" not in starter.summary or not starter.location:
            problems.append(f"{exercise.name}: the starter gives {starter.text()}")
    for index, (name, old, new, says) in enumerate(WRONG):
        verdict = verdicts[f"wrong {index}"]
        if verdict.kind != "failed" or says not in (verdict.mistake or ""):
            problems.append(
                f"{name} with {old!r} -> {new!r}: expected a failure naming {says!r}, got\n{verdict.text()}"
            )
        elif "expected: tensor" not in verdict.details and "expected: " not in verdict.details:
            problems.append(f"{name}: the failure does not show what was expected:\n{verdict.text()}")
    assert not problems, "\n\n".join(problems)
    counts = {name: sum(1 for wrong in WRONG if wrong[0] == name) for name in (e.name for e in EXERCISES)}
    assert min(counts.values()) >= 2, counts


def test_a_failure_shows_input_shapes_dtypes_and_where_it_differs(verdicts):
    verdict = verdicts[f"wrong {[w[0] for w in WRONG].index('add-noise')}"]
    assert verdict.summary.startswith("wrong result on case 1 of ")
    assert "input: x0 and noise of shape (2, 1, 8, 8)" in verdict.details
    assert "expected: tensor (2, 1, 8, 8) torch.float32" in verdict.details
    assert "got:      tensor (2, 1, 8, 8) torch.float32" in verdict.details
    assert "max abs difference" in verdict.details and "at index (" in verdict.details


def test_an_exception_in_the_learners_function_is_reported_at_its_line(verdicts):
    verdict = verdicts[f"wrong {len(WRONG)}"]
    assert verdict.kind == "error" and verdict.location, verdict.text()
    file, line = verdict.location.rsplit(":", 1)
    assert file.endswith("class-conditioning.py")
    # H and W swapped in expand passes the square case 1 and breaks torch.cat on the 6x5 case 2
    assert "torch.cat((x, class_cond), 1)" in Path(file).read_text().splitlines()[int(line) - 1]
    assert verdict.summary.startswith("RuntimeError at ") and "on case 2 (x of shape (2, 3, 6, 5)" in verdict.summary


# --- the child process: time limit, crashes, syntax errors -------------------------------------------


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "add-noise.py"
    path.write_text(textwrap.dedent(text))
    return path


def test_an_endless_loop_is_stopped_at_the_time_limit(tmp_path):
    verdict = check_file(find("add-noise"), _file(tmp_path, "while True:\n    pass\n"), time_limit=2)
    assert verdict.kind == "timeout" and "ran over 2 s" in verdict.summary, verdict.text()
    assert verdict.seconds is not None and verdict.seconds >= 2


@pytest.mark.parametrize(
    "text, says",
    [
        ("import os\nos._exit(3)\n", "exited with status 3"),
        ("import ctypes\nctypes.string_at(0)\n", "killed by SIGSEGV"),
    ],
)
def test_a_crashing_file_is_reported(tmp_path, text, says):
    verdict = check_file(find("add-noise"), _file(tmp_path, text), time_limit=30)
    assert verdict.kind == "crashed" and says in verdict.summary, verdict.text()


def test_a_syntax_error_is_reported_as_file_and_line_without_running_anything(tmp_path):
    path = _file(tmp_path, "import torch\n\ndef add_noise(x0, noise:\n    return x0\n")
    verdict = check_file(find("add-noise"), path)
    assert verdict.kind == "syntax" and verdict.location == f"{path}:3", verdict.text()
    assert f"{path}:3" in verdict.text()


# --- the learner's files -------------------------------------------------------------------------------


def test_the_starter_never_overwrites_the_learners_file_and_reset_keeps_backups(tmp_path):
    exercise = find("cfg")
    path = tmp_path / "exercises" / "cfg.py"
    assert workspace.start(exercise, path)
    assert path.read_text() == exercise.starter.read_text()
    path.write_text("my work")
    assert not workspace.start(exercise, path)
    assert path.read_text() == "my work"
    assert workspace.reset(exercise, path) == tmp_path / "exercises" / "cfg.py.bak"
    assert path.read_text() == exercise.starter.read_text()
    path.write_text("my second try")
    assert workspace.reset(exercise, path) == tmp_path / "exercises" / "cfg.py.2.bak"
    assert (tmp_path / "exercises" / "cfg.py.bak").read_text() == "my work"
    assert (tmp_path / "exercises" / "cfg.py.2.bak").read_text() == "my second try"


def test_hints_come_one_at_a_time_and_are_remembered(tmp_path):
    exercise = find("add-noise")
    with Store(tmp_path / "p.sqlite3") as store:
        shown = [workspace.next_hint(exercise, store) for _ in range(len(exercise.hints))]
    with Store(tmp_path / "p.sqlite3") as store:
        again = workspace.next_hint(exercise, store)
    assert shown == list(enumerate(exercise.hints, 1))
    assert again == (len(exercise.hints), exercise.hints[-1])


def test_status_follows_the_file_and_the_recorded_checks(tmp_path):
    exercise = find("ddim-step")
    with Store(tmp_path / "p.sqlite3") as store:

        def status() -> str:
            return workspace.states((exercise,), store, tmp_path)[0].status

        assert status() == "not started"
        workspace.start(exercise, workspace.exercise_file(exercise, tmp_path))
        assert status() == "failing"
        workspace.record(store, Verdict("ddim-step", "failed", "wrong", seconds=0.5))
        assert status() == "failing"
        workspace.record(store, Verdict("ddim-step", "passed", "ok", seconds=0.25))
        assert status() == "passed"
        assert workspace.passed_count(EXERCISES, store) == (1, len(EXERCISES))
        checks = store.exercise_checks("ddim-step")
        assert [(passed, duration, message) for _, passed, duration, message in checks] == [
            (False, 500, "wrong"),
            (True, 250, "ok"),
        ]


# --- the watcher ---------------------------------------------------------------------------------------


def test_the_watcher_rechecks_on_every_save_until_it_passes(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text("first")
    verdicts: queue.Queue[Verdict] = queue.Queue()

    def check() -> Verdict:
        text = path.read_text()
        verdict = Verdict("cfg", "passed" if text == "fixed" else "failed", text)
        verdicts.put(verdict)
        return verdict

    stop = threading.Event()
    result: list[Verdict | None] = []
    thread = threading.Thread(target=lambda: result.append(watch(path, check, stop)))
    thread.start()
    try:
        assert verdicts.get(timeout=20).summary == "first"
        path.write_text("second")
        assert verdicts.get(timeout=20).summary == "second"
        tmp = tmp_path / "cfg.py.tmp"  # an editor that saves by renaming a new file over the old one
        tmp.write_text("fixed")
        tmp.replace(path)
        assert verdicts.get(timeout=20).passed
        thread.join(timeout=20)
        assert not thread.is_alive() and result[0] is not None and result[0].passed
        assert verdicts.empty()  # one check per save
    finally:
        stop.set()
        thread.join(timeout=20)


def test_the_watcher_ends_when_asked(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text("x")
    checked = threading.Event()
    stop = threading.Event()

    def check() -> Verdict:
        checked.set()
        return Verdict("cfg", "failed", "no")

    result: list[Verdict | None] = []
    thread = threading.Thread(target=lambda: result.append(watch(path, check, stop)))
    thread.start()
    assert checked.wait(timeout=20)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive() and result == [None]


# --- the command line ----------------------------------------------------------------------------------


def test_unknown_exercise_is_one_line_and_exit_2(run_cli):
    result = run_cli("exercise", "add-nosie")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("learnapp: error: no exercise 'add-nosie'")


def test_the_cli_copies_checks_once_records_and_shows_the_solution_after_a_pass(run_cli, isolated_dirs):
    data = isolated_dirs / "data"
    first = run_cli("exercise", "add-noise", "--once")
    learner = data / "exercises" / "add-noise.py"
    assert first.returncode == 1, first.stderr
    assert str(learner) in first.stdout and "not written yet" in first.stdout
    assert learner.read_text() == find("add-noise").starter.read_text()

    learner.write_text(find("add-noise").solution.read_text() + "\n# mine\n")
    second = run_cli("exercise", "add-noise", "--once")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "PASSED add-noise" in second.stdout
    assert "The reference solution" in second.stdout and "Why it matters" in second.stdout
    assert learner.read_text().endswith("# mine\n")  # kept as the learner left it

    listing = run_cli("exercise")
    assert "[✓] add-noise" in listing.stdout and "(passed)" in listing.stdout
    assert "1 of 12 passed" in listing.stdout or f"1 of {len(EXERCISES)} passed" in listing.stdout
    progress = json.loads(run_cli("progress", "--json").stdout)
    assert progress["exercises"] == {"passed": 1, "total": len(EXERCISES)}
    with Store(data / "progress.sqlite3") as store:
        assert [passed for _, passed, _, _ in store.exercise_checks("add-noise")] == [False, True]


def _as_in_a_terminal() -> None:
    # Ctrl-C in a terminal: a suite started in the background (nohup, `cmd &` in a script) ignores
    # SIGINT, and Python would then never raise KeyboardInterrupt in the child
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_watching_exits_130_without_a_traceback():
    process = subprocess.Popen(
        [sys.executable, "-m", "learnapp.cli", "exercise", "cfg"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        assert process.stdout is not None
        assert "your file is" in process.stdout.readline()
        assert process.stdout.readline().startswith("Checking on every save")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and err == "learnapp: interrupted\n"


def test_hints_from_the_cli_one_more_each_time(run_cli):
    exercise = find("cfg")
    assert run_cli("exercise", "cfg", "--hint").stdout.startswith(f"Hint 1 of {len(exercise.hints)} for cfg:")
    assert run_cli("exercise", "cfg", "--hint").stdout.startswith(f"Hint 2 of {len(exercise.hints)} for cfg:")
