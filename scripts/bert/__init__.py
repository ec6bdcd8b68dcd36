"""bert-serve's Python side: our BERT modules and the code that loads, exports and makes models.

modeling.py   BERT in plain torch with Hugging Face's parameter names (TorchScript-able)
families/     BERT's relatives the same way (DistilBERT, RoBERTa, XLM-R, ELECTRA, MPNet), the
              catalog of families, and the registry of every architecture
layout.py     what a checkpoint directory must hold (standard library only)
checkpoint.py reading HF weights into our modules (strict, with HF's legacy renames)
safetensors.py a minimal .safetensors reader/writer
export.py     model.pt + config + tokenizer, verified against the eager module
synthetic.py  deterministic weights for the demo and test models
fixtures.py   TorchScript modules of the test fixtures; fixture_dirs.py, task_fixture_dirs.py and
              family_fixture_dirs.py build their directories
token_pipeline.py a port of transformers' token-classification post-processing (reference.py)
stamp.py      build stamps for idempotent model making (standard library only)
"""
