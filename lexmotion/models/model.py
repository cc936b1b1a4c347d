"""LexMotion: text and motion encoders with lexical heads over one shared vocabulary.

One model family serves every phase and the dense baseline:
- text side: a BERT-family encoder, a lexical head tied to its word embeddings,
  and (for LexMLM/LexMMM) a 2-layer bottleneck decoder with its own MLM head;
- motion side: the motion-patch transformer, its own lexical head tied to the
  same word embeddings, a patch-reconstruction head and a projection (CMMM);
- dense baseline: pooled text/motion features projected to ``dense_dim``.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from lexmotion.errors import LexmotionError, WrongKindError
from lexmotion.models.lexical import (
    LexicalHead,
    bottleneck,
    explain,
    lexical_weights,
    max_pool_logits,
    pool_over_vocabulary,
    real_token_mask,
)
from lexmotion.models.motion_encoder import MotionEncoderConfig, MotionPatchEncoder
from lexmotion.models.text import DEFAULT_TEXT_MODEL, load_text_backbone
from lexmotion.models.validate import TEXT_SIDES, VOCABULARIES, check_model_config
from lexmotion.models.vocabulary import (
    clean_vocabulary_mask,
    domain_vocabulary_mask,
    inverse_document_frequency,
    vocabulary_mask,
)

_TOKENIZER_LOCK = threading.Lock()


@dataclass
class ModelConfig:
    kind: str = "lexical"                      # "lexical" or "dense"
    text_model: str = DEFAULT_TEXT_MODEL
    motion: MotionEncoderConfig = field(default_factory=MotionEncoderConfig)
    dense_dim: int = 256
    decoder_layers: int = 2
    max_text_len: int = 40
    # Fresh lexical heads start with this bias: logits are ~N(0, 1.1) at init, so -3
    # leaves ~0.1% of a token's words positive and vectors start sparse.
    initial_lexical_bias: float = -3.0
    # Vocabulary prior (lexmotion/models/vocabulary.py). "full": every word but special tokens
    # (the first version, whose checkpoints have no "vocabulary" and load as "full"). "clean": real
    # words only, no stop words, digits or pieces of punctuation. "domain" (the default): text
    # vectors over the clean words, motion vectors over the clean words of the training captions
    # (the motion head computes logits for those rows only).
    vocabulary: str = "domain"
    # "encoder": the text encoder and its lexical head. "inference-free": a caption's vector is
    # its own clean words weighted by IDF, no network (the motion side learns to meet it).
    text_side: str = "encoder"
    # Own-word floor (encoder text side, clean or domain vocabulary): each clean word a caption holds
    # is raised to this share of its vector's largest weight, so a query keeps its own words whatever
    # the contrastive phase learnt ("someone salutes" keeps salute; inference-free retrievers keep the
    # query's tokens for the same reason). Applied where text vectors are served (search, evaluation,
    # the sparsity report, validation), not inside the training losses. 0: the network's vector as is.
    own_word_floor: float = 1.0
    # Served motion vectors keep only their this-many largest words (0: all), as SPLADE-style indexes
    # prune documents: a cap on index size and scoring cost that the training losses do not see.
    motion_max_words: int = 256
    # Served motion vectors average the clip's vector with its left/right mirror image's (left and right
    # words swapped back on the lexical side): test-time augmentation matching training's mirroring.
    mirror_average: bool = False
    # A served motion longer than the encoder's window: "centre" encodes its centred crop (the first
    # versions); "windows" covers it with windows of that length overlapping by half and pools them as the
    # patches are pooled (lexical: each word's largest weight; dense: the mean), so no part is dropped.
    long_motion: str = "centre"
    # A window of a longer motion (windowed indexes, word timelines, `eval moments`, long_motion "windows"):
    # "own" reads it as a clip of its own, facing +z at its first frame, as an upload of the same frames is
    # read; "clip" reads it in the whole motion's first-frame frame (the first versions). A centred crop is
    # read as the statistics say (``crops_of``: the clip's frame unless trained with crop_frame own).
    window_frame: str = "clip"
    # Lexical motion vectors: each word's weight is its largest over the time patches and, when true, the
    # whole take too (the head on the mean of the patches), so that a word can also fire on what only the
    # whole take shows, such as the side a walk turns to. Word timelines read the patches alone.
    whole_take_words: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "ModelConfig":
        """A config from its dict (a checkpoint's config.json), every value checked first (``validate``)."""
        check_model_config(d, source)
        d = dict(d)
        d.setdefault("vocabulary", "full")          # checkpoints from before the vocabulary priors
        d.setdefault("motion_max_words", 0)         # ... and from before motion pruning
        d["motion"] = MotionEncoderConfig(**d.get("motion", {}))
        return cls(**d)


def served_overrides(args) -> dict:
    """The served-motion settings that `--mirror-average`, `--long-motion` and `--window-frame` parsed (None:
    the checkpoint's), for ``LexMotionModel.override_serving``."""
    return {"mirror_average": args.mirror_average, "long_motion": args.long_motion,
            "window_frame": args.window_frame}


def mask_tokens(input_ids: torch.Tensor, token_mask: torch.Tensor, ratio: float, mask_id: int,
                vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of real tokens: of the chosen ``ratio``, 80% [MASK], 10% random, 10% kept.
    Returns (masked ids, labels with -100 where no prediction is asked)."""
    chosen = (torch.rand(input_ids.shape, device=input_ids.device) < ratio) & token_mask
    # Every caption predicts at least one token.
    first = token_mask.float().argmax(dim=1)
    none = ~chosen.any(dim=1) & token_mask.any(dim=1)
    chosen[none, first[none]] = True
    labels = input_ids.masked_fill(~chosen, -100)
    masked = input_ids.clone()
    roll = torch.rand(input_ids.shape, device=input_ids.device)
    masked[chosen & (roll < 0.8)] = mask_id
    random_words = chosen & (roll >= 0.8) & (roll < 0.9)
    masked[random_words] = torch.randint(vocab_size, (int(random_words.sum()),), device=input_ids.device)
    return masked, labels


class LexMotionModel(nn.Module):
    """The encoders every phase shares; ``LexicalModel`` and ``DenseModel`` add their heads and what a
    vector is. ``LexMotionModel(config)`` builds the one ``config.kind`` names."""
    has_words = False             # whether its vectors are over words (explain, keyword constraints)

    def __new__(cls, config: ModelConfig, *args, **kwargs):
        if cls is LexMotionModel:
            kinds = {"lexical": LexicalModel, "dense": DenseModel}
            if config.kind not in kinds:
                raise LexmotionError(f"model kind must be one of {', '.join(kinds)}, not {config.kind!r}")
            cls = kinds[config.kind]
        return super().__new__(cls)

    def __init__(self, config: ModelConfig, load_pretrained_text: bool = True, text_files=None):
        """``text_files``: a checkpoint's text_model folder (tokenizer and config, no weights)."""
        super().__init__()
        self.config = config
        if text_files is not None:
            from lexmotion.models.text import load_text_files
            (self.tokenizer, self.text_encoder), mlm_head = load_text_files(text_files), None
        else:
            self.tokenizer, self.text_encoder, mlm_head = load_text_backbone(config.text_model)
        if not load_pretrained_text:   # rebuilt from a checkpoint: its weights come next
            mlm_head = None
        hidden = self.text_encoder.config.hidden_size
        word_embeddings = self.text_encoder.get_input_embeddings()
        if config.vocabulary not in VOCABULARIES:
            raise LexmotionError(f"vocabulary must be one of {', '.join(VOCABULARIES)}, not {config.vocabulary!r}")
        if config.text_side not in TEXT_SIDES:
            raise LexmotionError(f"text_side must be one of {', '.join(TEXT_SIDES)}, not {config.text_side!r}")
        if not 0 <= config.own_word_floor <= 1:
            raise LexmotionError(f"own_word_floor is a share of the vector's largest weight, from 0 to 1; "
                                 f"got {config.own_word_floor}")
        if not (isinstance(config.motion_max_words, int) and config.motion_max_words >= 0):
            raise LexmotionError(f"motion_max_words is a number of words (0: keep all), got {config.motion_max_words!r}")
        full = config.vocabulary == "full"
        self.register_buffer("vocab_mask", vocabulary_mask(self.tokenizer) if full
                             else clean_vocabulary_mask(self.tokenizer), persistent=True)
        if not full:   # filled from the training captions by ``set_corpus``, or by loading
            self.register_buffer("idf", torch.ones(len(self.tokenizer)), persistent=True)
        if config.vocabulary == "domain":
            self.register_buffer("motion_vocab_mask", self.vocab_mask.clone(), persistent=True)
        self.special_ids = list(self.tokenizer.all_special_ids)
        self.motion_encoder = MotionPatchEncoder(config.motion)
        motion_dim = config.motion.dim
        self._build_heads(hidden, word_embeddings, mlm_head)
        # CMMM: patch reconstruction per part and a projection for the view-contrastive term.
        self.reconstruction = nn.ModuleList(nn.Linear(motion_dim, p.in_features)
                                            for p in self.motion_encoder.patch_embed)
        self.view_projection = nn.Sequential(nn.Linear(motion_dim, motion_dim), nn.GELU(),
                                             nn.Linear(motion_dim, 128))
        self.stats: dict | None = None   # feature normalisation, set by training or loading

    def _build_heads(self, hidden: int, word_embeddings, mlm_head) -> None:
        """The kind's own heads, made at this point of the constructor (the order decides the seeded init)."""
        raise NotImplementedError

    def checkpoint_activations(self, on: bool = True) -> None:
        """Activation checkpointing of both encoders in training: each transformer layer keeps only
        its input and runs its forward again in the backward pass (same values and gradients, the
        same dropout masks; less memory for about one more encoder forward)."""
        text = self.text_encoder
        renamed = hasattr(text, "activation_checkpointing_enable")     # newer transformers; older: gradient_...
        if not on:
            (text.activation_checkpointing_disable if renamed else text.gradient_checkpointing_disable)()
        elif renamed:
            text.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            text.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.motion_encoder.checkpointing = on

    @property
    def device(self) -> torch.device:
        return self.vocab_mask.device

    @property
    def motion_mask(self) -> torch.Tensor:
        """(V,) the words a motion vector may use: the domain vocabulary, or the text side's."""
        return self.motion_vocab_mask if self.config.vocabulary == "domain" else self.vocab_mask

    def set_corpus(self, captions: list[str], keep_words: bool = False) -> None:
        """IDF weights and, for the domain vocabulary, the motion-side words, from training captions.
        ``keep_words``: the words the motion side could already say stay sayable (fine-tuning
        on new data adds that data's words)."""
        if self.config.vocabulary == "full":
            return
        self.idf.copy_(inverse_document_frequency(self.tokenizer, captions))
        if self.config.vocabulary == "domain":
            words = domain_vocabulary_mask(self.tokenizer, captions).to(self.motion_vocab_mask)
            self.motion_vocab_mask.copy_(torch.maximum(words, self.motion_vocab_mask) if keep_words else words)

    def with_vocabulary(self, vocabulary: str, captions: list[str]) -> "LexMotionModel":
        """This model with another vocabulary prior (same weights), e.g. to ground a checkpoint
        that was trained on the full vocabulary."""
        if vocabulary == self.config.vocabulary:
            self.set_corpus(captions)
            return self
        config = ModelConfig.from_dict({**self.config.to_dict(), "vocabulary": vocabulary})
        other = LexMotionModel(config, load_pretrained_text=False)
        priors = ("vocab_mask", "idf", "motion_vocab_mask")
        state = {k: v for k, v in self.state_dict().items() if k not in priors}
        missing, unexpected = other.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= set(priors), (missing, unexpected)   # only the priors differ
        other.stats = self.stats
        other.set_corpus(captions)
        return other.to(self.device)

    # --- text -------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> dict:
        # A fast tokenizer sets its truncation state on every call: two threads at once can
        # fail with "Already borrowed". Tokenising is cheap; one thread at a time.
        with _TOKENIZER_LOCK:
            tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_text_len,
                                 return_tensors="pt")
        return {"text_ids": tok["input_ids"].to(self.device), "text_mask": tok["attention_mask"].bool().to(self.device)}

    def real_tokens(self, text_ids, text_mask) -> torch.Tensor:
        return real_token_mask(text_ids, text_mask, self.special_ids)

    def text_hidden(self, text_ids, text_mask) -> torch.Tensor:
        return self.text_encoder(input_ids=text_ids, attention_mask=text_mask.long()).last_hidden_state

    def text_logits(self, text_ids, text_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, V) lexical logits and the (B, L) mask of real (non-special) tokens."""
        logits = self.text_head(self.text_hidden(text_ids, text_mask))
        return logits, self.real_tokens(text_ids, text_mask)

    def text_pooled_logits(self, text_ids, text_mask) -> torch.Tensor:
        """(B, V) max-pooled text logits over the real tokens, -inf outside the vocabulary mask
        (only the mask's rows of the tied decoder are computed; see ``LexicalHead.pooled``)."""
        hidden = self.text_hidden(text_ids, text_mask)
        return pool_over_vocabulary(self.text_head, hidden, self.real_tokens(text_ids, text_mask), self.vocab_mask)

    @property
    def has_own_word_floor(self) -> bool:
        """Whether served text vectors differ from the network's ("full" has no clean words to raise)."""
        return (self.has_words and self.config.text_side == "encoder"
                and self.config.vocabulary != "full" and self.config.own_word_floor > 0)

    def text_lexical(self, text_ids, text_mask, own_word_floor: bool = True) -> torch.Tensor:
        """(B, V) the served text vector: the lexical head's, with the own-word floor
        (``own_word_floor=False``: the network's vector as it is)."""
        if self.config.text_side == "inference-free":
            return self.text_bag_of_words(text_ids, text_mask)
        vectors = lexical_weights(self.text_pooled_logits(text_ids, text_mask))
        return self.floor_own_words(vectors, text_ids, text_mask) if own_word_floor else vectors

    def text_lexical_and_network(self, text_ids, text_mask) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One text pass -> (served vectors, the network's vectors before the own-word floor); the
        second is None where the floor is off (they would be the same)."""
        network = self.text_lexical(text_ids, text_mask, own_word_floor=False)
        if not self.has_own_word_floor:
            return network, None
        return self.floor_own_words(network, text_ids, text_mask), network

    def floor_own_words(self, vectors, text_ids, text_mask) -> torch.Tensor:
        """The network's (B, V) text vectors -> served ones: each clean word of the caption raised to
        ``own_word_floor`` of its vector's largest weight (unchanged where the floor is off)."""
        if not self.has_own_word_floor:
            return vectors
        own = self.text_bag_of_words(text_ids, text_mask) > 0
        floor = self.config.own_word_floor * vectors.max(dim=1, keepdim=True).values
        return torch.where(own, torch.maximum(vectors, floor), vectors)

    def text_bag_of_words(self, text_ids, text_mask) -> torch.Tensor:
        """(B, V) the inference-free text vector: IDF of each clean word the caption holds."""
        real = self.real_tokens(text_ids, text_mask)
        present = torch.zeros(len(text_ids), len(self.vocab_mask), device=text_ids.device)
        present.scatter_(1, text_ids.masked_fill(~real, 0), real.float())
        return (present.clamp(max=1) * self.vocab_mask * self.idf)

    def text_dense(self, text_ids, text_mask) -> torch.Tensor:
        hidden = self.text_hidden(text_ids, text_mask)
        m = text_mask[..., None].to(hidden.dtype)
        return self.text_projection((hidden * m).sum(1) / m.sum(1).clamp(min=1))

    # --- motion -----------------------------------------------------------------------
    def motion_tokens(self, motion, mask, patch_mask=None) -> dict:
        return self.motion_encoder(motion, mask, patch_mask)

    def motion_pooled_logits(self, motion, mask) -> torch.Tensor:
        """(B, V) max-pooled motion logits over the real time patches (of every window of a clip longer than
        the encoder's), -inf outside the motion vocabulary (only its rows of the tied decoder are computed)."""
        return self.over_windows(self._window_pooled_logits, lambda pooled, logits, _: torch.maximum(pooled, logits),
                                 motion, mask)

    def _window_pooled_logits(self, motion, mask) -> torch.Tensor:
        out = self.motion_tokens(motion, mask)
        tokens, real = out["time_tokens"], out["time_mask"]
        if self.config.whole_take_words:      # the take's mean patch joins the patches the max runs over
            m = real[..., None].to(tokens.dtype)
            whole = (tokens * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(min=1)
            tokens, real = torch.cat([tokens, whole], 1), torch.cat([real, real.new_ones(len(real), 1)], 1)
        return pool_over_vocabulary(self.motion_head, tokens, real, self.motion_mask)

    def motion_lexical(self, motion, mask, prune: bool = True) -> torch.Tensor:
        """(B, V) the served motion vector: the lexical head's, pruned to ``motion_max_words``
        (``prune=False``: the network's vector as it is)."""
        vectors = lexical_weights(self.motion_pooled_logits(motion, mask))
        return self.prune_motion(vectors) if prune else vectors

    def prune_motion(self, vectors: torch.Tensor) -> torch.Tensor:
        """(B, V) network motion vectors -> served ones: each keeps its ``motion_max_words`` largest words."""
        k = self.config.motion_max_words
        if 0 < k < vectors.shape[1]:
            weights, words = vectors.topk(k, dim=1)
            vectors = torch.zeros_like(vectors).scatter_(1, words, weights)
        return vectors

    def motion_dense(self, motion, mask) -> torch.Tensor:
        out = self.motion_tokens(motion, mask)
        return self.motion_projection(MotionPatchEncoder.pooled(out["tokens"], out["token_mask"]))

    # --- the retrieval vector of the model's kind -------------------------------------------
    def text_vectors(self, text_ids, text_mask) -> torch.Tensor:
        """(B, V) lexical or (B, dense_dim) dense text vectors: what search and evaluation score."""
        raise NotImplementedError

    def motion_vectors(self, motion, mask) -> torch.Tensor:
        """(B, V) or (B, dense_dim) served motion vectors; a clip longer than the encoder's window (only
        with ``long_motion`` "windows") pooled over its windows."""
        return self.finish_motion(self.over_windows(self.window_vectors, self.pool_windows, motion, mask))

    def over_windows(self, encode, pool, motion, mask) -> torch.Tensor:
        """encode(motion, mask) of each clip's encoder-length windows (``window_starts``), pooled by
        pool(pooled, vectors, windows so far); a batch within the window is encoded once, as it is."""
        width = self.config.motion.max_frames
        pooled = encode(motion[:, :width], mask[:, :width])
        if motion.shape[1] <= width:                # every training batch: nothing more to do per step
            return pooled
        lengths, count = mask.sum(1), torch.ones(len(motion), device=motion.device)
        for start in self.window_starts(motion.shape[1])[1:]:
            live = start < (lengths - width).clamp(min=0) + self.window_step()
            if live.any():
                window = self.window_batch(motion[live, start:start + width], mask[live, start:start + width])
                vectors = encode(window, mask[live, start:start + width])
                pooled[live] = pool(pooled[live], vectors, count[live])
                count[live] += 1
        return pooled

    def read_window(self, part: np.ndarray) -> np.ndarray:
        """Normalised features of a window of a longer clip, as the model reads windows (``window_frame``)."""
        from lexmotion.data.batching import as_own_clip
        return as_own_clip(part, self.stats) if self.config.window_frame == "own" else part

    def window_batch(self, motion: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``read_window`` on a padded (B, T, F) batch of windows; the padding stays 0."""
        if self.config.window_frame != "own":
            return motion
        rows = [self.read_window(m) for m in motion.float().cpu().numpy()]
        return torch.from_numpy(np.stack(rows)).to(motion) * mask[..., None]

    def window_step(self) -> int:
        """Frames between windows over a long motion: half the encoder's window, on patch boundaries."""
        patch = self.config.motion.patch_frames
        return max(patch, (self.config.motion.max_frames // 2) // patch * patch)

    def window_starts(self, frames: int) -> range:
        """First frames of the encoder-length windows that cover FRAMES frames."""
        return range(0, max(frames - self.config.motion.max_frames, 0) + self.window_step(), self.window_step())

    def override_serving(self, **settings) -> None:
        """Set served-vector settings of the config (mirror_average, long_motion, ...) for this session;
        None keeps the checkpoint's."""
        for key, value in settings.items():
            if value is not None:
                setattr(self.config, key, value)

    @property
    def served_frames(self) -> int | None:
        """The longest motion that served vectors encode as it is (a centred crop beyond it); None: any
        length (``long_motion`` "windows")."""
        return None if self.config.long_motion == "windows" else self.config.motion.max_frames

    def window_vectors(self, motion, mask) -> torch.Tensor:
        """One encoder window's motion vectors before pooling and pruning (mirror-averaged if configured)."""
        raise NotImplementedError

    def pool_windows(self, pooled, vectors, count) -> torch.Tensor:
        raise NotImplementedError

    def finish_motion(self, vectors) -> torch.Tensor:
        return vectors

    def _served(self, vectors: torch.Tensor) -> torch.Tensor:
        """encode_text / encode_motion's output form: sparse COO over words, or dense as it is."""
        return vectors

    def mirror_motion(self, motion: torch.Tensor) -> torch.Tensor:
        """Normalised (B, T, 105) features -> those of the left/right mirrored clips (``mirror_columns``)."""
        from lexmotion.data.features import mirror_columns
        order, sign = mirror_columns()
        mean = torch.tensor(self.stats["mean"], dtype=motion.dtype, device=motion.device)
        std = torch.tensor(self.stats["std"], dtype=motion.dtype, device=motion.device)
        order, sign = torch.from_numpy(order).to(motion.device), torch.from_numpy(sign).to(motion.device, motion.dtype)
        return (sign * (motion[..., order] * std[order] + mean[order]) - mean) / std

    # --- lexical bottleneck decoder (LexMLM, LexMMM) ---------------------------------------
    def decode_from_bottleneck(self, pooled_logits, text_ids, text_mask) -> torch.Tensor:
        """The bottleneck vector replaces the [CLS] input of the decoder; -> (B, L, V) logits."""
        summary = bottleneck(pooled_logits, self.text_encoder.get_input_embeddings().weight)   # (B, H)
        embeds = self.text_encoder.get_input_embeddings()(text_ids)                            # (B, L, H)
        embeds = torch.cat([summary[:, None].to(embeds.dtype), embeds[:, 1:]], dim=1)
        hidden = self.decoder(inputs_embeds=embeds, attention_mask=text_mask.long()).last_hidden_state
        return self.decoder_head(hidden)

    def text_bottleneck_logits(self, text_logits, real_mask) -> torch.Tensor:
        return max_pool_logits(text_logits, real_mask, self.vocab_mask)

    # --- the user's API --------------------------------------------------------------------
    def whole_features(self, clip) -> np.ndarray:
        """A clip's whole normalised features, uncropped (T at 20 fps, 105); CLIP as ``encode_motion`` takes it."""
        return self._clip_features(clip)

    def _clip_features(self, clip, i: int = 0) -> np.ndarray:
        """A clip's whole normalised features (T at 20 fps, 105): a feature array as it is, or a dict with
        joints, fps and skeleton (a Skeleton or a registered name, as a built dataset's rows carry it)."""
        from lexmotion.data.batching import normalise
        from lexmotion.data.features import FEATURE_DIM, check_joints, part_features
        from lexmotion.data.skeletons import get_skeleton
        from lexmotion.errors import CorruptFileError

        if self.stats is None:
            raise LexmotionError("the model has no normalisation statistics (load it with lexmotion.load)")
        if isinstance(clip, dict):
            missing = [k for k in ("joints", "fps", "skeleton") if k not in clip]
            if missing:
                raise LexmotionError(f"clip {i}: needs the keys joints, fps and skeleton (missing {', '.join(missing)})")
            skeleton = get_skeleton(clip["skeleton"]) if isinstance(clip["skeleton"], str) else clip["skeleton"]
            joints = check_joints(np.asarray(clip["joints"]), clip.get("source", f"clip {i}"), skeleton)
            return normalise(part_features(joints, float(clip["fps"]), skeleton), self.stats)
        f = np.asarray(clip, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != FEATURE_DIM or not len(f):
            raise LexmotionError(f"clip {i}: a feature array is (frames, {FEATURE_DIM}), not {f.shape}")
        if not np.isfinite(f).all():
            raise CorruptFileError(f"clip {i}: NaN or infinite features")
        return f

    def served_batch(self, clips) -> tuple[torch.Tensor, torch.Tensor]:
        """clips (see ``_clip_features``) -> padded (B, T, 105) features and their (B, T) mask; a clip longer
        than ``served_frames`` is centre-cropped to it, as in evaluation."""
        from lexmotion.data.batching import read_crop
        max_frames = self.served_frames
        feats = []
        for i, clip in enumerate(clips):
            f = self._clip_features(clip, i)
            if max_frames is not None and len(f) > max_frames:
                start = (len(f) - max_frames) // 2
                f = read_crop(f[start:start + max_frames], self.stats)
            feats.append(torch.from_numpy(np.ascontiguousarray(f)))
        lengths = torch.tensor([len(f) for f in feats])
        motion = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[-1])
        for b, f in enumerate(feats):
            motion[b, :len(f)] = f
        mask = torch.arange(motion.shape[1])[None] < lengths[:, None]
        return motion.to(self.device), mask.to(self.device)

    @torch.no_grad()
    def encode_text(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        """Lexical models: (N, V) sparse COO tensor; dense models: (N, dense_dim)."""
        from lexmotion.errors import LexmotionError
        if isinstance(texts, str) or not len(texts) or any(not str(t).strip() for t in texts):
            raise LexmotionError("encode_text needs a list of non-empty strings")
        was_training = self.training
        self.eval()
        out = []
        for i in range(0, len(texts), batch_size):
            out.append(self.text_vectors(**self.tokenize(texts[i:i + batch_size])).float().cpu())
        self.train(was_training)
        return self._served(torch.cat(out))

    @torch.no_grad()
    def encode_motion(self, clips, batch_size: int = 64) -> torch.Tensor:
        if isinstance(clips, dict) or not len(clips):
            from lexmotion.errors import LexmotionError
            raise LexmotionError("encode_motion needs a non-empty list of clips (dicts with joints, fps and "
                                 "skeleton, or feature arrays)")
        was_training = self.training
        self.eval()
        out = []
        for i in range(0, len(clips), batch_size):
            out.append(self.motion_vectors(*self.served_batch(clips[i:i + batch_size])).float().cpu())
        self.train(was_training)
        return self._served(torch.cat(out))

    def explain(self, vector: torch.Tensor, k: int = 10) -> list[tuple[str, float]]:
        """Top-k (word, weight) of one vector of this model."""
        raise WrongKindError("a dense model's vectors have no words to explain; use a lexical checkpoint")


class LexicalModel(LexMotionModel):
    """Texts and motions as sparse vectors over the vocabulary's words (LexMLM, CMMM, LexMMM, LexCMLP)."""
    has_words = True

    def _build_heads(self, hidden: int, word_embeddings, mlm_head) -> None:
        from transformers import BertConfig, BertModel
        config = self.config
        self.text_head = LexicalHead(hidden, word_embeddings)
        self.text_head.bias.data.fill_(config.initial_lexical_bias)
        if mlm_head is not None:
            head_words = len(mlm_head.get("bias", mlm_head.get("decoder.bias", [])))
            if head_words != len(self.tokenizer):
                raise LexmotionError(f"text model {config.text_model!r}: its MLM head predicts {head_words} words "
                                     f"but its tokenizer has {len(self.tokenizer)}; the lexical space needs one "
                                     "vocabulary")
            self.text_head.load_bert_mlm_head(mlm_head)
        self.motion_head = LexicalHead(config.motion.dim, word_embeddings)
        self.motion_head.bias.data.fill_(config.initial_lexical_bias)
        decoder_config = BertConfig(**{**self.text_encoder.config.to_dict(),
                                       "num_hidden_layers": config.decoder_layers})
        self.decoder = BertModel(decoder_config, add_pooling_layer=False)
        self.decoder.set_input_embeddings(word_embeddings)
        self.decoder_head = LexicalHead(hidden, word_embeddings)

    def text_vectors(self, text_ids, text_mask) -> torch.Tensor:
        return self.text_lexical(text_ids, text_mask)

    def window_vectors(self, motion, mask) -> torch.Tensor:
        vectors = self.motion_lexical(motion, mask, prune=False)
        if not self.config.mirror_average:
            return vectors
        mirrored = self.motion_lexical(self.mirror_motion(motion), mask, prune=False)[:, self.mirror_words().to(motion.device)]
        return (vectors + mirrored) / 2

    def pool_windows(self, pooled, vectors, count) -> torch.Tensor:
        return torch.maximum(pooled, vectors)       # as the patches are pooled

    def finish_motion(self, vectors) -> torch.Tensor:
        return self.prune_motion(vectors)

    def mirror_words(self) -> torch.Tensor:
        """(V,) word order that swaps left and right (and the other mirror pairs of ``mirror_text``) where
        both words are one vocabulary entry each."""
        if getattr(self, "_mirror_words", None) is None:
            from lexmotion.data.features import MIRROR_WORDS
            order = torch.arange(len(self.tokenizer))
            vocab = self.tokenizer.get_vocab()
            for a, b in MIRROR_WORDS.items():
                if MIRROR_WORDS.get(b) == a and a in vocab and b in vocab:
                    order[vocab[a]] = vocab[b]
            self._mirror_words = order
        return self._mirror_words

    def _served(self, vectors: torch.Tensor) -> torch.Tensor:
        return vectors.to_sparse()

    def explain(self, vector: torch.Tensor, k: int = 10) -> list[tuple[str, float]]:
        """Top-k (word, weight) of one lexical vector."""
        return explain(vector.to_dense() if vector.is_sparse else vector, self.tokenizer, k)

    @torch.no_grad()
    def word_timelines(self, clip, words: list[str]) -> dict:
        """When each word happens in CLIP: log(1 + ReLU(logit)) of the motion lexical head on every time
        patch, the weights its max-pool takes for the motion vector. A clip longer than the encoder's
        window is covered by windows of that length overlapping by half, each patch keeping its largest
        value over them. -> {"seconds": (P,) patch centres, "words": {word: (P,) activations}, "logits": {word:
        (P,) the head's logits before log(1 + ReLU), -inf for a word outside the motion vocabulary}}. Where a word
        never fires (its activations stay 0), its logits still say where the motion comes closest to it."""
        from lexmotion.models.vocabulary import vocabulary_word
        ids = torch.tensor([vocabulary_word(self.tokenizer, w)[1] for w in words], device=self.device)
        seconds, timeline = self.patch_timeline(clip, lambda tokens: self.motion_head(tokens, ids))
        # a word outside the motion vocabulary is 0 in the motion vector, so it is 0 all along here too
        known = self.motion_mask.cpu()[ids.cpu()].bool()
        weights = torch.log1p(torch.relu(timeline)) * known.float()
        logits = timeline.masked_fill(~known, -torch.inf)
        return {"seconds": seconds, "words": {w: weights[:, k].numpy() for k, w in enumerate(words)},
                "logits": {w: logits[:, k].numpy() for k, w in enumerate(words)}}

    @torch.no_grad()
    def patch_timeline(self, clip, per_patch) -> tuple[np.ndarray, torch.Tensor]:
        """per_patch((patches, H) time tokens of one encoder window) -> (patches, K) values, over the whole of
        CLIP: windows of the encoder's length overlapping by half (``window_starts``), each patch keeping its
        largest value over them. -> ((P,) patch centres in seconds, (P, K) values on the CPU)."""
        from lexmotion.data.features import WORKING_FPS
        feats = self._clip_features(clip)
        width, patch = self.config.motion.max_frames, self.config.motion.patch_frames
        n_patches = -(-len(feats) // patch)
        timeline = None
        was_training = self.training
        self.eval()
        for start in self.window_starts(len(feats)):
            window = self.read_window(feats[start:start + width])
            window = torch.from_numpy(np.ascontiguousarray(window))[None].to(self.device)
            out = self.motion_tokens(window, torch.ones(window.shape[:2], dtype=torch.bool, device=self.device))
            values = per_patch(out["time_tokens"][0]).float().cpu()
            first = start // patch
            values = values[out["time_mask"][0].cpu()][: n_patches - first]
            if timeline is None:
                timeline = torch.full((n_patches, values.shape[1]), -torch.inf)
            timeline[first:first + len(values)] = torch.maximum(timeline[first:first + len(values)], values)
        self.train(was_training)
        return (np.arange(n_patches) + 0.5) * patch / WORKING_FPS, timeline


class DenseModel(LexMotionModel):
    """The dense baseline: pooled text and motion features projected to ``dense_dim``."""

    def _build_heads(self, hidden: int, word_embeddings, mlm_head) -> None:
        self.text_projection = nn.Linear(hidden, self.config.dense_dim)
        self.motion_projection = nn.Linear(self.config.motion.dim, self.config.dense_dim)

    def text_vectors(self, text_ids, text_mask) -> torch.Tensor:
        return self.text_dense(text_ids, text_mask)

    def window_vectors(self, motion, mask) -> torch.Tensor:
        if not self.config.mirror_average:
            return self.motion_dense(motion, mask)
        return (self.motion_dense(motion, mask) + self.motion_dense(self.mirror_motion(motion), mask)) / 2

    def pool_windows(self, pooled, vectors, count) -> torch.Tensor:
        return pooled + (vectors - pooled) / (count[:, None] + 1)       # a running mean

