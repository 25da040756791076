"""Exercises: the learner writes one diffusion function; learnapp checks it against diffusers.

The API a screen or the CLI uses (none of it imports torch; only the check's child process does):

- `catalog.load_exercises()` -> the shipped `Exercise`s (title, topic, hints, why, starter, solution);
  `catalog.find(name)` raises UserError for an unknown name;
- `workspace.exercise_file(exercise, data_dir)`, `workspace.start` (copy the starter, never
  overwriting), `workspace.reset` (keeps a backup), `workspace.states(exercises, store)` (status:
  not started / failing / passed), `workspace.next_hint`, `workspace.record(store, verdict)`,
  `workspace.passed_count`;
- `runner.check_file(exercise, path)` -> `Verdict` (runs the learner's file in a child process with
  a time limit; JSON-serialisable with `to_dict`/`from_dict`);
- `watch.watch(path, check, stop_event)` re-checks on every save until a check passes.
"""
