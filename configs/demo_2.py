"""Round 2 at demo scale: cfg_2's code paths (mdl_2_pt, ds_2, pp_2, the same augmentation) on a CPU.

    python train.py -C demo_2 --fold -1 --seed 1     # and --seed 2; reads the OOF table built from demo_1

Only sizes, schedule and runtime settings differ from cfg_2 (configs/_demo.py; scripts/run_demo.py runs the whole
recipe). Like cfg_2 it reads datamount/train_folded_oof_supp.csv (scripts/get_train_folded_oof_supp.py -C demo_1).
"""
import copy

from configs._demo import scale_to_demo
from configs.cfg_2 import cfg as _cfg_2

cfg = scale_to_demo(copy.deepcopy(_cfg_2), "demo_2", num_layers=3, epochs=14, eval_epochs=7)
