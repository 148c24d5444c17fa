"""``nmsim lm``: the EGRU language-model workload.

Sub-commands::

    nmsim lm eval MODEL [--tokens N] [--split test] [--json] [--checkpoint CK]
    nmsim lm info MODEL
    nmsim lm train  --dataset ptb --kind egru --preset small --epochs 6 --out CK.pt ...
    nmsim lm prune  CK.pt --target 0.8 --epochs 1 --lr 1e-3 --out CK80.pt ...
    nmsim lm export CK.pt MODEL.nmm [--weight-bits 8 --payload-bits 8]

``eval`` and ``info`` need no torch: integer perplexity, activity and
synaptic operations are recomputed by the golden reference; the float
model's figures are printed as recorded in the file at export (float
perplexity is recomputed only with ``--checkpoint`` and torch installed).
``train``, ``prune`` and ``export`` need the ``train`` extra (torch).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nmsim.commands._args import needs_action
from nmsim.errors import DatasetError, ModelFileError, NmsimError


#: the one-line help of the sub-command (``nmsim --help``)
HELP = "EGRU language-model workload (eval, train, prune, export)"

def resolve_model(name: str) -> Path:
    """A path, or the name of a shipped model in ``workloads/models`` (with or without ``.nmm``)."""
    from nmsim.paths import models_dir

    p = Path(name)
    if p.exists():
        return p
    for cand in (models_dir() / name, models_dir() / f"{name}.nmm"):
        if cand.is_file():
            return cand
    raise ModelFileError(f"{name}: no such model file (and no shipped model of that name in {models_dir()})")


def _need_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise NmsimError("this command needs torch: pip install -e '.[train]'") from None


def cmd_eval(args) -> int:
    import numpy as np

    from nmsim.lm.data import load_corpus
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.metrics import evaluate_golden
    from nmsim.lm.modelfile import load_model

    path = resolve_model(args.model)
    mf = load_model(path)
    prov = mf.provenance
    corpus = load_corpus(prov.get("dataset", "ptb"))
    if list(corpus.vocab.itos) != list(mf.vocab):
        raise ModelFileError(f"{path}: vocabulary does not match dataset {prov.get('dataset')!r}")
    tokens = corpus.split(args.split)
    if args.tokens is not None:
        if args.tokens < 2:
            raise DatasetError("--tokens must be at least 2")
        tokens = tokens[: args.tokens]
    g = GoldenModel(mf)
    r = evaluate_golden(g, tokens)
    fm = prov.get("float_metrics", {})
    out = {
        "model": str(path),
        "name": mf.header.get("name"),
        "sha256": mf.sha256,
        "kind": mf.arch["kind"],
        "dataset": prov.get("dataset"),
        "split": args.split,
        "tokens": r["tokens"],
        "float_perplexity": fm.get("test_perplexity") if args.split == "test" else fm.get("valid_perplexity"),
        "float_perplexity_source": f"recorded at export ({fm.get('test_tokens')} test tokens)"
        if args.split == "test" else "recorded at export (valid split)",
        "float_valid_perplexity": fm.get("valid_perplexity"),
        "float_activity": fm.get("activity"),
        "int_perplexity": r["int_perplexity"],
        "activity": r["activity"],
        "mean_activity": r["mean_activity"],
        "synaptic_ops_per_token": r["synaptic_ops_per_token"],
        "synaptic_ops_per_layer": r["synaptic_ops_per_layer"],
        "decoder_ops_per_token": r["decoder_ops_per_token"],
        "dense_ops_per_token": r["dense_ops_per_token"],
        "dense_ops_per_layer": r["dense_ops_per_layer"],
        "stack_reduction": sum(r["dense_ops_per_layer"]) / max(sum(r["synaptic_ops_per_layer"]), 1e-9),
        "reduction": r["reduction"],
        "weight_sparsity": {k: v for k, v in mf.sparsity.items() if not k.endswith("float_mask")},
        "argmax_agreement_recorded": mf.header.get("reference", {}).get("argmax_agreement"),
    }
    fa = mf.arrays.get("ref.float_argmax")
    if fa is not None and args.split == "test":
        n = min(len(fa), len(r["argmax"]))
        out["argmax_agreement"] = float(np.mean(r["argmax"][:n] == fa[:n]))
        out["argmax_agreement_tokens"] = n
    if args.checkpoint:
        _need_torch()
        from workloads.export import evaluate_stream, load_checkpoint

        model, _ = load_checkpoint(args.checkpoint)
        fl = evaluate_stream(model, tokens)
        out["float_perplexity"] = fl["ppl"]
        out["float_perplexity_source"] = f"recomputed from {args.checkpoint} on {len(tokens)} tokens"
        out["float_activity"] = fl["activity"]
    if args.json:
        from nmsim.output_files import dumps_json

        print(dumps_json(out, indent=None, sort_keys=True))
        return 0
    act = " ".join(f"{a:.3f}" for a in r["activity"])
    fp = out["float_perplexity"]
    print(f"model            {path}  ({mf.arch['kind']}, {prov.get('dataset')}, "
          f"hidden {mf.arch['hidden']}, emb {mf.arch['emb']})")
    print(f"tokens           {r['tokens']} ({args.split})")
    print(f"float perplexity {fp:.2f}  [{out['float_perplexity_source']}]" if fp is not None
          else "float perplexity n/a")
    print(f"int perplexity   {r['int_perplexity']:.2f}  [golden reference, recomputed]")
    print(f"activity/layer   {act}  (mean {r['mean_activity']:.3f})")
    print(f"synaptic ops/tok {r['synaptic_ops_per_token']:.0f}  (dense {r['dense_ops_per_token']}, "
          f"reduction {r['reduction']:.2f}x)")
    if "argmax_agreement" in out:
        print(f"argmax agreement {out['argmax_agreement']:.4f} with the float model "
              f"(first {out['argmax_agreement_tokens']} tokens)")
    return 0


def cmd_info(args) -> int:
    from nmsim.lm.modelfile import load_model

    path = resolve_model(args.model)
    mf = load_model(path)
    h = {k: v for k, v in mf.header.items() if k not in ("vocab", "arrays")}
    h["vocab"] = f"{len(mf.vocab)} words"
    h["sha256"] = mf.sha256
    print(json.dumps(h, indent=1, sort_keys=True))
    return 0


def cmd_train(args) -> int:
    _need_torch()
    import torch

    from workloads import train as tr

    torch.set_num_threads(args.threads)
    tc = tr.config_from_args(args)
    out = Path(args.out) if args.out else None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
    tr.train(tc, out, Path(args.log) if args.log else None)
    return 0


def cmd_prune(args) -> int:
    _need_torch()
    if not Path(args.init).is_file():
        raise NmsimError(f"{args.init}: no such checkpoint")
    args.prune_target = args.target
    import torch

    ck = torch.load(args.init, map_location="cpu", weights_only=False)
    tcd = ck["train_config"]
    args.dataset, args.kind, args.preset = tcd["dataset"], ck["model_config"]["kind"], tcd["preset"]
    return cmd_train(args)


def cmd_export(args) -> int:
    _need_torch()
    import torch

    from workloads.export import export

    if not Path(args.checkpoint).is_file():
        raise NmsimError(f"{args.checkpoint}: no such checkpoint")
    torch.set_num_threads(args.threads)
    export(args.checkpoint, args.out, args.weight_bits, args.payload_bits, args.state_bits,
           args.test_tokens)
    return 0


#: actions that need torch; their parsers (which import torch) are built only when named
TORCH_ACTIONS = {"train": "train a model (torch)",
                 "prune": "gradual magnitude pruning + fine-tuning of a checkpoint (torch)",
                 "export": "export a checkpoint to an integer model file (torch)"}


def register(subparsers, action: str | None = "*") -> None:
    """Add ``lm``; the torch actions get their full parsers only when ``action`` names one
    (or is ``"*"``: all), so ``lm eval``/``lm info`` and their errors never import torch."""
    p = subparsers.add_parser("lm", help=HELP,
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="lm_command", metavar="SUBCOMMAND")
    p.set_defaults(func=needs_action("lm", sub))

    e = sub.add_parser("eval", help="integer (golden) + recorded float perplexity, activity, ops")
    e.add_argument("model", help="model file (.nmm) or shipped model name")
    e.add_argument("--tokens", type=int, default=None, help="evaluate only the first N tokens")
    e.add_argument("--split", default="test", choices=["train", "valid", "test"])
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--checkpoint", default="", help="float checkpoint to recompute float perplexity (torch)")
    e.set_defaults(func=cmd_eval)

    i = sub.add_parser("info", help="print a model file's header")
    i.add_argument("model")
    i.set_defaults(func=cmd_info)

    full = action == "*" or action in TORCH_ACTIONS
    try:
        if not full:
            raise ImportError
        from workloads.train import build_parser as train_parser
    except ImportError:  # torch missing (or not needed here): one help line each, one error line if run
        for name, text in TORCH_ACTIONS.items():
            sub.add_parser(name, help=text, add_help=False).set_defaults(func=lambda a: (_need_torch(), 2)[1])
        return
    t = sub.add_parser("train", help=TORCH_ACTIONS["train"])
    train_parser(t)
    t.set_defaults(func=cmd_train)

    pr = sub.add_parser("prune", help=TORCH_ACTIONS["prune"])
    train_parser(pr)
    pr.add_argument("init_ck", metavar="CHECKPOINT")
    pr.add_argument("--target", type=float, required=True, help="target weight sparsity, e.g. 0.8")
    pr.set_defaults(func=lambda a: (setattr(a, "init", a.init_ck), cmd_prune(a))[1])

    x = sub.add_parser("export", help=TORCH_ACTIONS["export"])
    from workloads.export import build_parser as export_parser

    export_parser(x)
    x.set_defaults(func=cmd_export)
