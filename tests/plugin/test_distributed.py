"""Data-parallel training: torch DDP without find_unused_parameters, fairseq-train on two gloo ranks,
and checkpoints of the earlier layer layout (a weight for a field that is off) still loading."""
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from fmm_fairseq.modules import FMMMultiheadAttention
from fmm_tools.fairseq_models import build_model, numbered_dictionary
from fmm_tools.paths import BIN, ROOT


VOCAB = 40

# Every blend / field configuration, as fairseq-train options (the prefix is added per model).
CONFIGURATIONS = {
    "default": {},
    "linear only": {"bandwidth": 0},
    "linear only, learned far weight": {"bandwidth": 0, "learn_far_weight": True},
    "band only": {"feature_maps": "none"},
    "band only, learned far weight": {"feature_maps": "none", "learn_far_weight": True},
    "head blend": {"blend": "head"},
    "learned far weight": {"learn_far_weight": True},
}
SMALL_LM = dict(decoder_layers=1, decoder_embed_dim=16, decoder_ffn_embed_dim=32, decoder_attention_heads=2)
SMALL_MT = dict(
    encoder_layers=1, decoder_layers=1, encoder_embed_dim=16, decoder_embed_dim=16, encoder_ffn_embed_dim=32,
    decoder_ffn_embed_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def small_model(kind: str, options: dict):
    """A 1-layer fmmformer_lm_tiny or fmmformer_tiny with FMM ``options`` on every self-attention."""
    torch.manual_seed(0)
    if kind == "lm":
        fmm = {f"fmm_{name}": value for name, value in options.items()}
        return build_model("fmmformer_lm_tiny", numbered_dictionary(VOCAB), dropout=0.0, **SMALL_LM, **fmm)
    fmm = {f"{side}_fmm_{name}": value for name, value in options.items() for side in ("encoder", "decoder")}
    return build_model("fmmformer_tiny", numbered_dictionary(VOCAB), dropout=0.0, **SMALL_MT, **fmm)


def loss_of(model, kind: str, tokens: torch.Tensor) -> torch.Tensor:
    if kind == "lm":
        logits, _ = model(tokens[:, :-1])
    else:
        lengths = torch.full((tokens.shape[0],), tokens.shape[1])
        logits, _ = model(tokens, lengths, tokens[:, :-1])
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


def ddp_worker(rank: int, world_size: int, port: int, results):
    """Three DDP updates of every configuration on this rank's own batches; records the outcome."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        for kind in ("lm", "mt"):
            for name, options in CONFIGURATIONS.items():
                model = torch.nn.parallel.DistributedDataParallel(small_model(kind, options), find_unused_parameters=False)
                optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                generator = torch.Generator().manual_seed(100 + rank)  # each rank its own data
                try:
                    for _ in range(3):
                        optimizer.zero_grad()
                        loss_of(model, kind, torch.randint(4, VOCAB + 4, (2, 12), generator=generator)).backward()
                        optimizer.step()
                except RuntimeError as error:
                    results[(rank, kind, name)] = f"failed: {str(error).splitlines()[0]}"
                    continue
                flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
                gathered = [torch.empty_like(flat) for _ in range(world_size)]
                dist.all_gather(gathered, flat)
                results[(rank, kind, name)] = "in sync" if all(torch.equal(g, gathered[0]) for g in gathered) else "diverged"
    finally:
        dist.destroy_process_group()


def test_every_configuration_trains_under_ddp_without_find_unused_parameters():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(ddp_worker, args=(2, free_port(), results), nprocs=2, join=True)
        results = dict(results)
    expected = {(rank, kind, name): "in sync" for rank in (0, 1) for kind in ("lm", "mt") for name in CONFIGURATIONS}
    assert results == expected


@pytest.mark.parametrize("kind", ["lm", "mt"])
@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_a_layer_owns_weights_only_for_the_fields_it_computes(kind, name):
    options = CONFIGURATIONS[name]
    attentions = [m for m in small_model(kind, options).modules() if isinstance(m, FMMMultiheadAttention)]
    assert len(attentions) == (1 if kind == "lm" else 2)
    for attention in attentions:
        assert (attention.near_weight is None) == (options.get("bandwidth") == 0)
        assert (attention.far_weight is None) == (options.get("feature_maps") == "none")
        if attention.far_weight is not None:
            assert attention.far_weight.requires_grad == options.get("learn_far_weight", False)


@pytest.mark.parametrize("kind", ["lm", "mt"])
@pytest.mark.parametrize("name", ["linear only", "band only, learned far weight"])
def test_checkpoints_of_the_earlier_layout_load_with_the_same_outputs(kind, name):
    """Earlier layers also held a weight for a field that is off: loading drops exactly that weight."""
    model = small_model(kind, CONFIGURATIONS[name]).eval()
    earlier = dict(model.state_dict())
    dead = []
    for module_name, module in model.named_modules():
        if isinstance(module, FMMMultiheadAttention):
            for weight in ("near_weight", "far_weight"):
                if getattr(module, weight) is None:
                    dead.append(f"{module_name}.{weight}")
                    earlier[dead[-1]] = torch.full((2, 1, 8), 0.3)
    assert dead and all(key in earlier for key in dead)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # loading must really overwrite these
    reloaded = small_model(kind, CONFIGURATIONS[name]).eval()
    reloaded.load_state_dict(earlier, strict=True)  # fairseq's load_state_dict upgrades first
    tokens = torch.randint(4, VOCAB + 4, (2, 10))
    torch.testing.assert_close(loss_of(reloaded, kind, tokens), loss_of(model, kind, tokens), rtol=0, atol=0)


@pytest.mark.parametrize(
    "checkpoint,printed",
    [
        ("fmmformer_lm_linear_only.pt", "Loss (base 2): 10.1267, Perplexity: 1117.97"),
        ("fmmformer_lm_near_init0.pt", "Loss (base 2): 10.1234, Perplexity: 1115.44"),
    ],
)
def test_fairseq_eval_lm_of_a_checkpoint_written_by_earlier_code_gives_its_loss(lm_data, checkpoint, printed):
    """tests/data/old_checkpoints/README.md: a near weight for a layer with bandwidth 0; the near-init-0 default."""
    result = subprocess.run(
        [str(BIN / "fairseq-eval-lm"), str(lm_data), "--user-dir", "fmm_fairseq", "--path",
         str(ROOT / "tests" / "data" / "old_checkpoints" / checkpoint), "--gen-subset", "test",
         "--tokens-per-sample", "64", "--batch-size", "8", "--cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert printed in result.stdout + result.stderr


def test_a_weight_that_matters_is_never_dropped():
    model = small_model("lm", CONFIGURATIONS["default"])
    state = dict(model.state_dict())
    del state["decoder.layers.0.self_attn.near_weight"]
    with pytest.raises(RuntimeError, match="near_weight"):
        small_model("lm", CONFIGURATIONS["default"]).load_state_dict(state, strict=True)


# fairseq-train on two CPU gloo ranks started by hand against one rank accumulating two batches.
LM_TRAIN = [
    "--task", "language_modeling", "--arch", "fmmformer_lm_tiny", "--decoder-layers", "1", "--decoder-embed-dim", "32",
    "--decoder-ffn-embed-dim", "64", "--tokens-per-sample", "32", "--batch-size", "4",
]
MT_TRAIN = [
    "--task", "translation", "--arch", "fmmformer_tiny", "--encoder-layers", "1", "--decoder-layers", "1",
    "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
    "--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
    "--share-all-embeddings", "--max-tokens", "512", "--encoder-fmm-bandwidth", "0",
]
COMMON = [
    "--user-dir", "fmm_fairseq", "--optimizer", "adam", "--lr", "0.003", "--dropout", "0", "--seed", "1",
    "--max-update", "6", "--log-interval", "1", "--log-format", "simple", "--no-progress-bar", "--cpu",
    "--no-save", "--num-workers", "0", "--disable-validation",
]


def losses_of(log: str):
    """The per-update training losses that fairseq logs (--log-interval 1)."""
    return [float(x) for x in re.findall(r"train_inner \|.* loss=([\d.]+),", log)]


def train_losses(data: Path, model_options, world_size: int):
    if world_size == 1:
        result = subprocess.run(
            [str(BIN / "fairseq-train"), str(data), *model_options, *COMMON, "--update-freq", "2"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        logs = [(result.returncode, result.stdout + result.stderr)]
    else:
        port = free_port()
        ranks = [
            subprocess.Popen(
                [
                    str(BIN / "fairseq-train"), str(data), *model_options, *COMMON, "--distributed-world-size", "2",
                    "--distributed-rank", str(rank), "--distributed-init-method", f"tcp://127.0.0.1:{port}",
                    "--distributed-no-spawn", "--distributed-backend", "gloo", "--device-id", "0",
                    "--ddp-backend", "legacy_ddp",
                ],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            for rank in range(2)
        ]
        logs = [(rank.wait(timeout=600), rank.stdout.read()) for rank in ranks]
    for returncode, log in logs:
        assert returncode == 0, log[-3000:]
    return [line for line in logs[0][1].splitlines() if "train_inner" in line], losses_of(logs[0][1])


@pytest.fixture(scope="module")
def lm_data(tmp_path_factory):
    corpus = ROOT / "tests" / "data" / "tiny_lm"
    data = tmp_path_factory.mktemp("ddp_lm") / "data-bin"
    subprocess.run(
        [str(BIN / "fairseq-preprocess"), "--only-source", "--trainpref", str(corpus / "train.txt"), "--validpref",
         str(corpus / "valid.txt"), "--testpref", str(corpus / "test.txt"), "--destdir", str(data), "--workers", "1"],
        check=True, capture_output=True,
    )
    return data


@pytest.fixture(scope="module")
def mt_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("ddp_mt") / "data-bin"
    subprocess.run(
        [str(BIN / "fmm-prepare-translation"), "--raw-dir", str(ROOT / "tests" / "data" / "tiny_mt"),
         "--vocab-size", "300", "--destdir", str(data)],
        cwd=ROOT, check=True, capture_output=True,
    )
    return data


@pytest.mark.parametrize("kind", ["lm", "lm_linear_only", "mt"])
def test_fairseq_train_on_two_gloo_ranks_equals_one_rank_with_update_freq_2(kind, request):
    if kind == "mt":
        data, options = request.getfixturevalue("mt_data"), MT_TRAIN
    else:
        data = request.getfixturevalue("lm_data")
        options = LM_TRAIN + (["--fmm-bandwidth", "0"] if kind == "lm_linear_only" else [])
    two_lines, two_ranks = train_losses(data, options, world_size=2)
    one_lines, one_rank = train_losses(data, options, world_size=1)
    assert len(two_ranks) == len(one_rank) == 6, "\n".join(two_lines + one_lines)
    assert two_ranks == one_rank, "\n".join(two_lines + one_lines)


def test_two_gloo_ranks_fine_tune_from_a_softmax_checkpoint_with_attention_transfer(lm_data, tmp_path):
    """Rank 0 loads the checkpoint and fairseq pickles it to rank 1 (configuration as omegaconf objects):
    under torch's weights-only loading rank 1 used to fail; the transfer criterion then trains on both."""
    size = ["--decoder-layers", "1", "--decoder-embed-dim", "32", "--decoder-input-dim", "32", "--decoder-output-dim",
            "32", "--decoder-ffn-embed-dim", "64", "--tokens-per-sample", "32", "--batch-size", "4"]
    softmax = subprocess.run(
        [str(BIN / "fairseq-train"), str(lm_data), "--task", "language_modeling", "--arch", "transformer_lm", *size,
         "--optimizer", "adam", "--lr", "0.003", "--max-update", "4", "--cpu", "--num-workers", "0",
         "--no-epoch-checkpoints", "--save-dir", str(tmp_path / "softmax")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert softmax.returncode == 0, softmax.stderr[-3000:]
    options = ["--task", "language_modeling", "--arch", "fmmformer_lm", *size, "--fmm-learn-far-weight", "--criterion",
               "fmm_attention_transfer", "--finetune-from-model", str(tmp_path / "softmax" / "checkpoint_last.pt")]
    lines, losses = train_losses(lm_data, options, world_size=2)
    assert len(losses) == 6 and losses[-1] < losses[0], "\n".join(lines)
