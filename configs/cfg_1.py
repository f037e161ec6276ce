"""Round 1 of the recipe: the small model `mdl_1_pt` on dataset `ds_1`, trained once per fold 0..3.

    python train.py -C cfg_1 --fold 0      # ... --fold 3, then scripts/get_train_folded_oof_supp.py

Values are SPEC §2-§7. Importing this module does no file or network I/O.
"""
from types import SimpleNamespace

from data import tokenizer
from data.augmentations import Compose, Resample, SpatialAffine, SpatialMask, TemporalMask
from data.landmarks import N_LANDMARKS
from postprocess.confidence_fallback import MIN_CONFIDENCE, MIN_FRAMES

cfg = SimpleNamespace()
cfg.name = "cfg_1"
cfg.model = "mdl_1_pt"
cfg.dataset = "ds_1"
cfg.post_process = "pp_1"

# paths (datamount layout, SPEC §1)
cfg.datamount = "datamount"
cfg.data_folder = "datamount/train_landmarks_npy/"
cfg.train_df = "datamount/train_folded.csv"
cfg.symmetry_fp = "datamount/symmetry.csv"
cfg.output_dir = "datamount/weights/cfg_1"  # checkpoints go to {output_dir}/fold{fold}/

# run
cfg.fold = 0
cfg.seed = -1  # -1 draws a random seed (printed and saved)
cfg.device = "auto"  # auto | cpu | cuda
cfg.num_workers = 8
cfg.logger = "neptune"  # neptune | none
cfg.neptune_mode = "offline"  # offline | async | debug (async needs neptune_project + NEPTUNE_API_TOKEN)
cfg.neptune_project = ""
cfg.resume = False
cfg.init_weights = None  # path of a state dict or {'model': ...} checkpoint to start from (loaded strictly)
cfg.compile = False  # torch.compile the model's forward (Module.compile: same module, same checkpoints)
cfg.ckpt_every_epochs = 1  # full resumable checkpoint cadence (epochs); 0 disables

# tokenizer / data
cfg.max_phrase = tokenizer.MAX_PHRASE_LEN  # 33
cfg.max_len = 384  # frames after nearest resize / zero padding
cfg.n_landmarks = N_LANDMARKS  # 130
cfg.min_seq_len = 15  # train rows with fewer frames are dropped
cfg.flip_aug = 0.5
cfg.outer_cutmix_aug = 0.5


def train_aug(landmarks: list[str], spatial_mask_fixed: bool = False) -> Compose:
    """The round-1 training augmentation, in order (SPEC §4.2); `landmarks` = the 130 kept landmark names.

    `spatial_mask_fixed` = cfg.spatial_mask_fixed (F, Q1): the working SpatialMaskFix instead of the no-op.
    """
    del landmarks  # no landmark-specific transform in round 1; the argument keeps the factory contract
    return Compose([
        Resample(sample_rate=(0.5, 1.5), p=0.8),
        SpatialAffine(scale=(0.8, 1.2), shear=(-0.15, 0.15), shift=(-0.1, 0.1), degree=(-30, 30), p=0.75),
        TemporalMask(size=(0.2, 0.4), num_masks=(1, 2), mask_value=0.0, p=0.5),
        SpatialMask(size=(0.05, 0.1), mask_value=0.0, mode="relative", p=0.5, fixed=spatial_mask_fixed),
    ])


# built per dataset: cfg.train_aug(landmarks, spatial_mask_fixed=cfg.spatial_mask_fixed), landmarks = the data's names
cfg.train_aug = train_aug
cfg.spatial_mask_fixed = False  # NOTE(original): SpatialMask is a no-op (Q1); True = the working SpatialMaskFix
cfg.val_aug = None

# model (mdl_1_pt)
cfg.encoder_dim = 144
cfg.num_layers = 6
cfg.num_heads = 4
cfg.ff_expansion = 1
cfg.conv_expansion = 2
cfg.conv_kernel_size = 51
cfg.ff_dropout = 0.1
cfg.conv_dropout = 0.1
cfg.attn_dropout = 0.1  # mdl_1 only: dropout on relative-attention probabilities and the module output
cfg.stem_bn_momentum = 0.95
cfg.decoder_mask_aug = 0.2  # decoder-input tokens replaced by MASK_ID in training
cfg.val_mode = "padded"
cfg.val_decoder = "original"  # greedy decoder of validation: original (recompute, as the original) | cached
# decoder (Speech2Text-style, SPEC §5.6), built locally: never from_pretrained
cfg.decoder_layers = 2
cfg.decoder_heads = 4
cfg.decoder_ffn_dim = 512
cfg.decoder_dropout = 0.1
cfg.decoder_attention_dropout = 0.2
cfg.decoder_activation_dropout = 0.1
cfg.decoder_max_positions = 1024
cfg.decoder_init_std = 0.02

# optimisation (SPEC §6)
cfg.epochs = 300
cfg.batch_size = 64
cfg.batch_size_val = 64  # NOTE(original): unused, validation runs with batch_size (Q13)
cfg.lr = 5e-4 * 9
cfg.weight_decay = 0.05
cfg.warmup_epochs = 10
cfg.grad_accumulation = 8
cfg.clip_grad = 4.0  # max gradient norm; <= 0 turns clipping off (as the original)
cfg.mixed_precision = False
cfg.amp_dtype = "float16"  # float16 (original, with GradScaler) | bfloat16
cfg.eval_epochs = 10
cfg.save_only_last_ckpt = True  # False: rewrite checkpoint_last_seed*.pth after every epoch
cfg.drop_last = False

# post-processing (SPEC §7)
cfg.pp_min_conf = MIN_CONFIDENCE  # 0.15, pp_2 only
cfg.max_len_for_dummy = MIN_FRAMES  # 15
cfg.dummy_phrase = tokenizer.DUMMY_PHRASE
