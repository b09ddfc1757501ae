"""Retraining from the admin pages (issue 8): train a candidate, evaluate it next to the serving
model on the held-out set, promote it only if it is not worse, and swap it into the running Rasa
server through its HTTP API (PUT /model), with history and rollback.

Three parts, a module each (rule, worker, job; progress reads the worker's lines):

- the promotion rule, `decide` (pure; see PROMOTION RULE below);
- the worker, `python -m motcua.retrain.worker SPEC.json`: one subprocess that trains with Rasa
  (exactly `rasa train` with the inputs of motcua.training, run in-process so Rasa is imported
  once) and then evaluates both models with motcua.nlu_eval. It prints Rasa's log lines and its
  own `@@ {json}` lines on stdout, and runs at a lower CPU priority than the bot;
- the `Retrainer`, used by the gateway (and `motcua train --promote`): it starts the worker,
  turns its lines into progress stored on the run's row (so any gateway replica can show it),
  applies the rule and promotes.

PROMOTION RULE. On the same held-out examples (nlu/data/test/), in the same run, a candidate is
promoted automatically only if
  1. its intent accuracy is not lower than the serving model's by more than ACCURACY_TOLERANCE
     (0.3 points, 3 of the ~1,000 examples: retrained on slightly different data, a borderline
     example or two flips either way; with the rule strict, adding one annotation was refused), and
  2. no intent with at least MIN_SUPPORT held-out examples loses more than F1_TOLERANCE of F1.
The tolerance (0.05) lets one example flip in an intent with a dozen or more examples (per-intent
F1 on a few dozen examples moves by ~0.04 per example) but stops a real regression of an intent
hidden by gains elsewhere. Anything else is "rejected": it stays on disk, the serving model keeps
serving, and an admin may still promote it with a written reason (an override, kept in history).
"""
from motcua.retrain.job import Retrainer, SwapFailed, Workspace
from motcua.retrain.progress import PROGRESS_PREFIX, Progress, trainable_components
from motcua.retrain.rule import ACCURACY_TOLERANCE, F1_TOLERANCE, MIN_SUPPORT, Verdict, compare_rows, decide

__all__ = ["ACCURACY_TOLERANCE", "F1_TOLERANCE", "MIN_SUPPORT", "PROGRESS_PREFIX", "Progress", "Retrainer", "SwapFailed",
           "Verdict", "Workspace", "compare_rows", "decide", "trainable_components"]
