"""Old name of training/resume.py, kept only because train.py (owned by another change in flight) still does
`from training import checkpointing as ckpt`. Delete this file once train.py imports `training.resume`.
"""
from training.resume import RunLock, apply_new_schedule, check_resume_config, load_resume, seed_to_resume  # noqa: F401
