"""Synthetic ASL fingerspelling landmarks in the competition's raw format.

Entry points: `data.synthetic.dataset.generate_dataset` (what scripts/make_synthetic_data.py runs),
`data.synthetic.dataset.build_metadata` / `synthetic_metadata` (all rows with exact `n_frames`, no
landmarks) and `data.synthetic.sequence.synthesize_sequence` (one (T, 543, 3) sequence).
Modules: hand (21-joint kinematics), handshapes (a pose per character), motions (J, Z, symbol traces),
phrases, signer, timing, choreography (min-jerk joint trajectories), body (face, pose, arm IK),
camera (projection, noise, drop-outs), topology (MediaPipe skeleton edges).
"""
