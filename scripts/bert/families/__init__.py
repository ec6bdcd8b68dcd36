"""BERT's relatives in plain torch: every family's architectures, one registry.

catalog.py  the families as facts (standard library only; layout.py reads it before torch loads,
            which is why this package's __init__ imports nothing)
registry.py every architecture of every family (BERT's from bert/modeling.py included)
common.py   what the families share: the masked-LM entry points, RoBERTa-style heads, masks
roberta.py  RoBERTa and XLM-RoBERTa;  distilbert.py;  electra.py;  mpnet.py

Each module reproduces transformers' classes of its family (module tree, state-dict keys and
eager arithmetic, read from transformers 4.57's modeling_<family>.py), so a Hugging Face
checkpoint directory of that family loads with strict=True, and every masked LM has the exporter's
fill_mask_logits beside forward.
"""
