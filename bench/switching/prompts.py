"""Mixed soft-prompt batches: each row carries its own task's soft prompt, built as inputs_embeds.
PEFT's prompt tuning prepends one prompt to the whole batch; this does it per row, with the same
arithmetic (prompt embeddings, then the word embeddings of the input, full attention mask)."""

from __future__ import annotations

import torch


def forward_mixed(model, input_ids: torch.Tensor, prompt_table: torch.Tensor, index: torch.Tensor):
    """model: the base backbone; prompt_table: [N, virtual, hidden]; index: [batch] task per row."""
    embeds = model.get_input_embeddings()(input_ids)
    prompts = prompt_table.index_select(0, index).to(embeds.dtype)
    inputs = torch.cat([prompts, embeds], dim=1)
    mask = torch.ones(inputs.shape[:2], dtype=torch.long, device=inputs.device)
    return model(inputs_embeds=inputs, attention_mask=mask)
