"""The seed recipe's batched fill-mask server, on a TorchScript file: bench/run.js's comparison row.

Usage: /usr/bin/python3 bench/recipe_server.py --model DIR [--host 127.0.0.1] [--port 8000]
                                               [--max-batch 32] [--threads N]

The well-known "pipelines for a web server" recipe of the transformers documentation, with its
dynamic batching: a Starlette app, one asyncio queue, one model loop that takes what is queued and
runs it as one batch. `curl -X POST -d "test [MASK]" http://127.0.0.1:8000/` answers the fill-mask
pipeline's list [{score, token, token_str, sequence}], top 5 (a list of such lists when the text
has several [MASK]s). Kept as the recipe has it:
  - POST / with the raw text as the body; the handler puts (text, its own response queue) on the
    queue and awaits the answer; JSONResponse of the pipeline's output;
  - the model loop waits for one item, then takes more with asyncio.wait_for(q.get(), 0.001) (the
    recipe's 1 ms) until that times out, here also until --max-batch items (the recipe has no cap;
    the bench server's default batch is 32 requests), and calls the pipeline on the list;
  - the pipeline call blocks the event loop while it runs (the recipe says so: PyTorch is not
    async-aware), so no request is read or answered during a batch;
  - uvicorn with its defaults as `pip install uvicorn` gives them (asyncio loop, h11), one process;
    only its access log is off, so that per-request logging is not what this row measures.
What stands in for transformers (not installed here): `pipeline("fill-mask")` is FillMask below,
which does what the pipeline does for a BERT: tokenize each text (bench/wordpiece.py, pure Python,
where the recipe loads the Rust fast tokenizer), pad the batch to its longest text, run the model
(torch.jit.load(DIR/model.pt): forward(input_ids, attention_mask) -> (logits,), every position's
vocabulary logits, as the pipeline runs a BertForMaskedLM), then per [MASK]: softmax, top 5, and
token_str / sequence decoded as the fast tokenizer decodes. torch.set_num_threads(cores), as a
user would. GET /stats (not in the recipe) reports the loop's counters and where its time went, so
the bench can say how much of it is the pure-Python tokenizer.
"""
import argparse
import asyncio
import os
import sys
import time
from typing import Dict, List

import torch
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in bench/ or scripts/

from wordpiece import WordPiece  # noqa: E402

TOP_K = 5
BATCH_WAIT_S = 0.001  # the recipe's: asyncio.wait_for(q.get(), timeout=0.001)


class FillMask:
    """The fill-mask pipeline's preprocess / forward / postprocess for a list of texts."""

    def __init__(self, model_dir: str) -> None:
        self.tok = WordPiece(os.path.join(model_dir, "vocab.txt"))
        self.model = torch.jit.load(os.path.join(model_dir, "model.pt"), map_location="cpu").eval()
        self.stats: Dict[str, float] = {"batches": 0, "requests": 0, "real_tokens": 0, "padded_tokens": 0,
                                        "tokenize_s": 0.0, "forward_s": 0.0, "postprocess_s": 0.0}

    def __call__(self, texts: List[str]) -> List[object]:
        t0 = time.perf_counter()
        encoded = [self.tok.encode(t) for t in texts]
        t1 = time.perf_counter()
        longest = max(len(e) for e in encoded)
        ids = torch.tensor([e + [self.tok.pad] * (longest - len(e)) for e in encoded])
        attention = torch.tensor([[1] * len(e) + [0] * (longest - len(e)) for e in encoded])
        with torch.inference_mode():
            logits = self.model(ids, attention)[0]
        t2 = time.perf_counter()
        out = [self._postprocess(ids[i], logits[i]) for i in range(len(texts))]
        t3 = time.perf_counter()
        s = self.stats
        s["batches"] += 1
        s["requests"] += len(texts)
        s["real_tokens"] += sum(len(e) for e in encoded)
        s["padded_tokens"] += longest * len(texts)
        s["tokenize_s"] += t1 - t0
        s["forward_s"] += t2 - t1
        s["postprocess_s"] += t3 - t2
        return out

    def _postprocess(self, input_ids: torch.Tensor, logits: torch.Tensor) -> object:
        masked = torch.nonzero(input_ids == self.tok.mask, as_tuple=False).flatten()
        probs = logits[masked].softmax(dim=-1)
        values, predictions = probs.topk(TOP_K)
        single = values.shape[0] == 1
        result = []
        for pos, vals, preds in zip(masked.tolist(), values.tolist(), predictions.tolist()):
            row = []
            for v, p in zip(vals, preds):
                tokens = input_ids.clone()
                tokens[pos] = p
                tokens = tokens[tokens != self.tok.pad].tolist()
                row.append({"score": v, "token": p, "token_str": self.tok.decode([p]),
                            "sequence": self.tok.decode(tokens, skip_special_tokens=single)})
            result.append(row)
        return result[0] if single else result


async def homepage(request: Request) -> JSONResponse:
    payload = await request.body()
    string = payload.decode("utf-8")
    response_q: asyncio.Queue = asyncio.Queue()
    await request.app.state.model_queue.put((string, response_q))
    output = await response_q.get()
    if isinstance(output, Exception):  # see server_loop
        return JSONResponse({"error": str(output)}, status_code=500)
    return JSONResponse(output)


async def stats(request: Request) -> JSONResponse:
    pipe = request.app.state.pipe
    return JSONResponse({"threads": torch.get_num_threads(),
                         "max_batch": request.app.state.max_batch, "loop_busy_s": request.app.state.busy_s,
                         "torch": torch.__version__, "uvicorn": uvicorn.__version__,
                         **pipe.stats})


async def server_loop(app: Starlette) -> None:
    q, pipe = app.state.model_queue, app.state.pipe
    while True:
        (string, rq) = await q.get()
        strings, queues = [string], [rq]
        while len(strings) < app.state.max_batch:
            try:
                (string, rq) = await asyncio.wait_for(q.get(), timeout=BATCH_WAIT_S)
            except asyncio.exceptions.TimeoutError:
                break
            strings.append(string)
            queues.append(rq)
        t0 = time.perf_counter()
        try:
            outs = pipe(strings)
        except Exception as e:  # noqa: BLE001
            # The recipe's loop would die here and leave every later request waiting forever;
            # answering 500 keeps a bench run bounded (a text over 512 tokens is one way).
            outs = [e] * len(strings)
        app.state.busy_s += time.perf_counter() - t0
        for rq, out in zip(queues, outs):
            await rq.put(out)


def main() -> int:
    ap = argparse.ArgumentParser(description="The seed recipe's batched fill-mask server.")
    ap.add_argument("--model", required=True, help="directory with model.pt and vocab.txt")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    app = Starlette(routes=[Route("/", homepage, methods=["POST"]), Route("/stats", stats, methods=["GET"])])
    app.state.max_batch = args.max_batch
    app.state.busy_s = 0.0
    # The recipe builds its pipeline at the top of the model loop task; built here, a file that
    # does not load stops the process with its error instead of leaving a server without a loop.
    app.state.pipe = FillMask(args.model)

    @app.on_event("startup")
    async def startup_event() -> None:
        app.state.model_queue = asyncio.Queue()
        app.state.loop_task = asyncio.create_task(server_loop(app))

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
