"""Cross-checks of pulsetrain against IBM AIHWKit 1.1.0 (test harness, not installed).

AIHWKit lives in its own venv (``bash scripts/setup-aihwkit.sh`` → ``.venv-aihwkit``);
:mod:`validation.aihwkit_bridge` runs :mod:`validation.aihwkit_worker` there through a
subprocess.  Used by ``validation/test_aihwkit_crosscheck.py`` (collected by the test
suite, skipped without the venv), ``scripts/crosscheck_aihwkit.py`` and the benchmarks.
"""
