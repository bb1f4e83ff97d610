"""Running untrusted programs in every language: the sandbox (sandbox.py), the language table (languages.py), the
Python-test translator (values.py, value_types.py), the pass-mark harness (harness.py) and `codecurate languages`
(doctor.py). Shared by generate and eval; no stage code here."""
