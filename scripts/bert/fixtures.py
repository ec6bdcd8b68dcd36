"""TorchScript modules for the test fixtures that a correct export never produces.

Imported by make_test_models.py; not run by itself. Each class documents the behaviour a test
relies on. TorchScript compiles from this file's source, so keep it importable.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .modeling import (BertConfig, BertForMaskedLM, BertForQuestionAnswering,
                       BertForSequenceClassification, BertForTokenClassification, BertModel,
                       mask_fill_value)


class TracedMaskedLM(nn.Module):
    """What HF's torchscript=True tracing gives: forward(input_ids, attention_mask) -> (logits,).

    For torch.jit.trace only. It wraps the parts of a BertForMaskedLM (same state-dict keys)
    instead of subclassing it, because tracing would also compile the exported
    fill_mask_logits, and this fixture must not have one.
    """

    def __init__(self, mlm: BertForMaskedLM) -> None:
        super().__init__()
        self.bert = mlm.bert
        self.cls = mlm.cls

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        return (self.cls(self.bert(input_ids, attention_mask, torch.zeros_like(input_ids))),)


class HFBertModel(nn.Module):
    """HF's BertModel as torch.jit.trace sees it with torchscript=True, return_dict off.

    forward(input_ids, attention_mask) -> (last_hidden_state, pooler_output), or
    (last_hidden_state,) without a pooler (a None cannot be a traced output). The submodules and
    state-dict keys are BertModel's (embeddings, encoder, pooler). The attention mask is extended
    as transformers 4.x does it for a float32 model: converted to float32 and scaled by
    finfo(float32).min, so the trace bakes both as constants, as users' traced files have them.
    Traced without token_type_ids, HF slices its zero buffer embeddings.token_type_ids (a buffer,
    so the trace follows the module to another device).
    """

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.embeddings = bert.embeddings
        if not hasattr(self.embeddings, "token_type_ids"):
            self.embeddings.register_buffer(
                "token_type_ids", torch.zeros(self.embeddings.position_ids.shape, dtype=torch.long),
                persistent=False)
        self.encoder = bert.encoder
        self.pooler = getattr(bert, "pooler", None)

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        if token_type_ids is None:
            token_type_ids = self.embeddings.token_type_ids[:, :input_ids.size(1)].expand(
                input_ids.size(0), input_ids.size(1))
        embedding_output = self.embeddings(input_ids, token_type_ids)
        extended = attention_mask[:, None, None, :].to(torch.float32)
        extended = (1.0 - extended) * torch.finfo(torch.float32).min
        sequence_output = self.encoder(embedding_output, extended)
        if self.pooler is None:
            return (sequence_output,)
        return (sequence_output, self.pooler(sequence_output))


class HFTracedMaskedLM(nn.Module):
    """HF BertForMaskedLM traced: submodules bert (HFBertModel, no pooler) and cls; -> (logits,)."""

    def __init__(self, mlm: BertForMaskedLM) -> None:
        super().__init__()
        self.bert = HFBertModel(mlm.bert)
        self.cls = mlm.cls

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        return (self.cls(self.bert(input_ids, attention_mask)[0]),)


class HFTracedSequenceClassification(nn.Module):
    """HF BertForSequenceClassification traced: bert (with pooler), classifier; -> (logits,)."""

    def __init__(self, model: BertForSequenceClassification) -> None:
        super().__init__()
        self.bert = HFBertModel(model.bert)
        self.classifier = model.classifier

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        return (self.classifier(self.bert(input_ids, attention_mask)[1]),)


class HFTracedTokenClassification(nn.Module):
    """HF BertForTokenClassification traced: bert (no pooler), classifier; -> (logits,)."""

    def __init__(self, model: BertForTokenClassification) -> None:
        super().__init__()
        self.bert = HFBertModel(model.bert)
        self.classifier = model.classifier

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        return (self.classifier(self.bert(input_ids, attention_mask)[0]),)


class HFTracedQuestionAnswering(nn.Module):
    """HF BertForQuestionAnswering traced with token_type_ids (as for any pair input): bert (no
    pooler), qa_outputs; -> (start_logits, end_logits), each [b, s], as transformers splits them."""

    def __init__(self, model: BertForQuestionAnswering) -> None:
        super().__init__()
        self.bert = HFBertModel(model.bert)
        self.qa_outputs = model.qa_outputs

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Tensor) -> Tuple[Tensor, Tensor]:
        logits = self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids)[0])
        start, end = logits.split(1, dim=-1)
        return (start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous())


class SlowMaskedLM(BertForMaskedLM):
    """A valid fill-mask model whose every call spends a fixed time, whatever the batch.

    The spin is spin_iters elementwise ops on a 16384-element CPU tensor: below the size where
    torch splits work over threads, so the time does not depend on the engine's thread count,
    and derived from the input, so no compiler pass can fold it away. Its result is added as an
    exact zero, so the answers are the plain model's.
    """

    def __init__(self, config: BertConfig, spin_iters: int) -> None:
        super().__init__(config)
        self.spin_iters = spin_iters

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        x = torch.full([16384], 0.5) + input_ids[0, 0].cpu().to(torch.float32) * 0.0
        for _ in range(self.spin_iters):
            x = torch.sin(x)  # sin^n(0.5) stays finite and well above denormals
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return hidden + (x.sum() * 0.0).to(hidden.device, hidden.dtype)


class HangingMaskedLM(BertForMaskedLM):
    """A valid fill-mask model that spins for seconds when any input id is freeze_id ("freeze").

    Stands in for a model that hangs: the forward cannot be interrupted, so the spin is finite
    (hang_iters iterations of SlowMaskedLM's spin) and a test can watch the server while it runs
    and see it recover afterwards.
    """

    def __init__(self, config: BertConfig, freeze_id: int, hang_iters: int) -> None:
        super().__init__(config)
        self.freeze_id = freeze_id
        self.hang_iters = hang_iters

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        if bool((input_ids == self.freeze_id).any()):
            x = torch.full([16384], 0.5) + input_ids[0, 0].cpu().to(torch.float32) * 0.0
            for _ in range(self.hang_iters):
                x = torch.sin(x)
            hidden = hidden + (x.sum() * 0.0).to(hidden.device, hidden.dtype)
        return hidden


class FailingMaskedLM(BertForMaskedLM):
    """A valid fill-mask model that raises when any input id is explode_id ("explode")."""

    def __init__(self, config: BertConfig, explode_id: int) -> None:
        super().__init__(config)
        self.explode_id = explode_id

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        if bool((input_ids == self.explode_id).any()):
            raise Exception("fixture model failure: the input contains the token 'explode'")
        return self.bert(input_ids, attention_mask, token_type_ids)


class OneInput(nn.Module):
    """forward takes a single tensor: not the model contract."""

    def forward(self, input_ids: Tensor) -> Tensor:
        return input_ids.to(torch.float32) * 2.0


class SevenWide(nn.Module):
    """The right signatures, but logits [batch, seq, 7] / [m, 7] instead of the vocabulary."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.proj = nn.Embedding(vocab_size, 7)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.proj(input_ids) * attention_mask[:, :, None].to(torch.float32)

    @torch.jit.export
    def fill_mask_logits(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor,
                         mask_index: Tensor) -> Tensor:
        out = self.forward(input_ids, attention_mask, token_type_ids)
        return out.reshape(-1, 7).index_select(0, mask_index)


def non_finite_offset(input_ids: Tensor, nan_id: int, inf_id: int) -> Tensor:
    """Per row: NaN when the row holds nan_id, +Inf when it holds inf_id, else 0 ([batch])."""
    offset = torch.zeros(input_ids.size(0), device=input_ids.device)
    offset = offset.masked_fill((input_ids == inf_id).any(1), float("inf"))
    return offset.masked_fill((input_ids == nan_id).any(1), float("nan"))


class NonFiniteMaskedLM(BertForMaskedLM):
    """A valid fill-mask model whose hidden states are NaN in a row holding nan_id ("nan") and +Inf
    in a row holding inf_id ("infinity") (the logits are then NaN: LayerNorm of Inf); other rows
    are the plain model's, in the same batch."""

    def __init__(self, config: BertConfig, nan_id: int, inf_id: int) -> None:
        super().__init__(config)
        self.nan_id = nan_id
        self.inf_id = inf_id

    def hidden_states(self, input_ids: Tensor, attention_mask: Tensor,
                      token_type_ids: Tensor) -> Tensor:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return hidden + non_finite_offset(input_ids, self.nan_id, self.inf_id)[:, None, None].to(hidden.dtype)


class NonFiniteModel(BertModel):
    """BertModel whose last_hidden_state is NaN / +Inf in rows holding nan_id / inf_id."""

    def __init__(self, config: BertConfig, nan_id: int, inf_id: int) -> None:
        super().__init__(config)
        self.nan_id = nan_id
        self.inf_id = inf_id

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        embeddings = self.embeddings(input_ids, token_type_ids)
        extended = attention_mask[:, None, None, :].to(embeddings.dtype)
        extended = (1.0 - extended) * mask_fill_value(embeddings.dtype)
        hidden = self.encoder(embeddings, extended)
        return hidden + non_finite_offset(input_ids, self.nan_id, self.inf_id)[:, None, None].to(hidden.dtype)


class NonFiniteSequenceClassification(BertForSequenceClassification):
    """Classification logits NaN / +Inf in rows holding nan_id / inf_id."""

    def __init__(self, config: BertConfig, nan_id: int, inf_id: int) -> None:
        super().__init__(config)
        self.nan_id = nan_id
        self.inf_id = inf_id

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        logits = self.classifier(self.bert.pooler(self.bert(input_ids, attention_mask, token_type_ids)))
        return logits + non_finite_offset(input_ids, self.nan_id, self.inf_id)[:, None].to(logits.dtype)


class NonFiniteTokenClassification(BertForTokenClassification):
    """Token classification logits NaN / +Inf in rows holding nan_id / inf_id."""

    def __init__(self, config: BertConfig, nan_id: int, inf_id: int) -> None:
        super().__init__(config)
        self.nan_id = nan_id
        self.inf_id = inf_id

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        logits = self.classifier(self.bert(input_ids, attention_mask, token_type_ids))
        return logits + non_finite_offset(input_ids, self.nan_id, self.inf_id)[:, None, None].to(logits.dtype)


class WrongFastPathMaskedLM(BertForMaskedLM):
    """A valid forward with a fill_mask_logits that is wrong in a way a one-row, all-ones probe
    cannot see: mode "swapped" passes (attention_mask, input_ids) to the encoder, "inverted-mask"
    attends to the padding instead of the tokens. The engine must not use it."""

    def __init__(self, config: BertConfig, mode: str) -> None:
        super().__init__(config)
        self.mode = mode

    @torch.jit.export
    def fill_mask_logits(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor,
                         mask_index: Tensor) -> Tensor:
        if self.mode == "swapped":
            hidden = self.bert(attention_mask, input_ids, token_type_ids)
        else:
            hidden = self.bert(input_ids, 1 - attention_mask, token_type_ids)
        rows = hidden.reshape(-1, hidden.size(-1)).index_select(0, mask_index)
        return self.cls(rows)
