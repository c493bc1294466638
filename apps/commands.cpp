// The subcommand table: name, summary, --help text, accepted flags, handler. A pipeline lands by
// replacing its `not_implemented` handler with a function that loads the config
// (ms::cfg::load<Cfg>(args.config, args.sets)) and calls into pipelines/; setting `config_keys` lists the
// config's keys in --help.
#include "apps/cli.h"
#include "apps/handlers.h"
#include "apps/handlers_audio.h"
#include "apps/handlers_dna.h"
#include "apps/run_pipeline.h"

namespace ms::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"pretrain", "Train a Mamba language model on DNA or audio tokens (next-token prediction)",
       "mambaseq pretrain -c FILE [--set KEY=VALUE]... [--resume] [--ckpt PATH] [--out DIR]",
       R"(Trains a model from scratch, or continues a run, on the data named in the config: DNA from FASTA
files (tokens A C G T N) or audio from WAV/FLAC files (8-bit mu-law or linear tokens). The config's
sections give the model ([model]: MambaLM or Mamba-UNet, width, depth, real or complex SSM), the
optimizer and schedule ([train]: steps, learning rate, batch size, seed, checkpoint interval) and the
data ([data]: files, window lengths, splits).

Every few steps a row {"step", "split": "train", "loss", "tokens_per_s", "lr"} is appended to
runs/<name>/metrics.jsonl; held-out evaluations add rows with split "valid" (loss and bits per token).
The resolved config is saved as runs/<name>/config.toml. Checkpoints go to runs/<name>/last.h5, plus
step_<N>.h5 copies at the configured interval; they hold the parameters, the AdamW moments, the step,
the random-number state, the data cursor and the config.

--resume continues from runs/<name>/last.h5 (or --ckpt PATH): the data order, learning-rate schedule and
random numbers continue where they stopped, so the losses equal those of an uninterrupted run. Without
--resume, --ckpt PATH initializes the weights from a checkpoint and starts a new run at step 0.

Examples:
    mambaseq pretrain -c configs/dna_pretrain_small.toml      (a few minutes on 2 CPU cores)
    mambaseq pretrain -c configs/dna_pretrain.toml
    mambaseq pretrain -c configs/dna_pretrain.toml --set train.steps=200 --set model.d_model=64
    mambaseq pretrain -c configs/dna_pretrain.toml --resume)",
       kAllCommon, 0, 0, {}, route_pretrain, all_pretrain_config_keys},

      {"finetune", "Fine-tune a classifier (e.g. species from DNA segments) on a pretrained backbone",
       "mambaseq finetune -c FILE [--set KEY=VALUE]... [--ckpt PATH] [--resume] [--out DIR]",
       R"(Trains a classification head (mean or last-token pooling) on top of a Mamba backbone: one class
per FASTA file (species, strains) or per label of an audio set (spoken digits). Samples are random
contiguous segments of the configured length; training and test segments come from disjoint regions
(held-out contigs or ranges named in the config), so no test base was seen in training.

--ckpt PATH loads a pretrained backbone (the head starts fresh); without it the model trains from
scratch. --resume continues an interrupted fine-tuning run from runs/<name>/last.h5.

Writes metrics.jsonl rows with loss and accuracy for the train and test splits, and at the end the
per-class accuracy and the confusion matrix into the run folder, next to config.toml and checkpoints.

Examples:
    mambaseq finetune -c configs/species_classify.toml --ckpt runs/dna/last.h5
    mambaseq finetune -c configs/species_classify.toml --set data.length=4096
    mambaseq finetune -c configs/strain_classify.toml --ckpt runs/dna_small/last.h5   (a length sweep))",
       kAllCommon, 0, 0, {}, route_finetune, all_finetune_config_keys},

      {"generate", "Sample audio from a trained model (WAV files, spectrograms, report)",
       "mambaseq generate [-c FILE] --ckpt PATH [--set KEY=VALUE]... [--out DIR]",
       R"(Generates audio autoregressively in recurrent (step) mode, in constant time and memory per sample,
from a Mamba-UNet or MambaLM trained by audio pretraining: batched sampling with temperature, top-k and
top-p from the config's [sample] section, unconditionally or continuing a prompt (sample.prompt, a WAV
or any audio file; sample.prompt_seconds keeps only its start).

Writes one 16-bit WAV file per sample (sample_000.wav, ...; the prompt first unless
sample.include_prompt = false), a spectrogram PNG for each, and report.md (settings, prefill and sampling
time, generated samples/s and the real-time factor, the files) into --out DIR (default
runs/<name>/samples). With sample.classifier = a digit classifier checkpoint, the report adds SC09-style
scores: the share of samples classified with confidence > 0.5 and the class entropy of the batch.

The model comes from --ckpt. -c names an audio config (e.g. the one it was trained with) whose [model]
must match the checkpoint; without -c the config stored in the checkpoint is used. The same seed gives the
same audio. On a GPU the per-sample step is replayed as captured CUDA graphs (sample.cuda_graph).

Examples:
    mambaseq generate -c configs/piano_unet_small.toml --ckpt runs/piano_unet_small/last.h5
    mambaseq generate --ckpt runs/piano_unet_small/last.h5 --set sample.n_samples=16 --set sample.batch=16
    mambaseq generate --ckpt runs/digits_unet_small/last.h5 --set sample.classifier=runs/digits_classifier/last.h5
    mambaseq generate --ckpt runs/piano_unet_small/last.h5 --set sample.prompt=data/audio/piano/test/freedink-data__dance.wav --set sample.prompt_seconds=2 --set sample.temperature=0.9)",
       kConfig | kSet | kCkpt | kOut, 0, 0, {}, cmd_generate, audio_pretrain_config_keys},

      {"eval", "Evaluate a checkpoint on held-out data (loss, bits per token, accuracy)",
       "mambaseq eval -c FILE --ckpt PATH [--set KEY=VALUE]... [--out DIR]",
       R"(Loads the checkpoint given with --ckpt and evaluates it on the held-out split of the config's data:
cross-entropy loss, bits per token (per base for DNA, per sample for audio) and, for classifiers and the
synthetic tasks, accuracy (at each evaluation length for the synthetic tasks). Long sequences are
evaluated in chunks or in step mode so memory stays bounded.

Results are printed and written to --out DIR (default: an eval/ folder next to the checkpoint):
metrics.jsonl (one row, split "valid" or "test"), and heldout.tsv (DNA language models: the model's bits
per base next to Markov baselines) or confusion.tsv and per_class.tsv (classifiers; the spoken-digit
classifier writes confusion_<split>.tsv and per_group.tsv, accuracy per speaker group, for each of its
valid, test, test_speakers and real_test splits). A checkpoint with a
classifier head (head.*) is evaluated as a classifier, any other as a language model. Without -c the
config saved in the checkpoint is used. A checkpoint whose parameter shapes differ from the config's
model is refused with a message naming the first mismatching tensor.

Examples:
    mambaseq eval -c configs/dna_pretrain.toml --ckpt runs/dna/last.h5
    mambaseq eval --ckpt runs/digits_classifier/last.h5 --set data.test=data/audio/sc09/test)",
       kConfig | kSet | kCkpt | kOut, 0, 0, {}, route_eval, {}},

      {"run", "Run several stages (pretrain, finetune, eval, generate, synth) scripted in one TOML file",
       "mambaseq run FILE [--set KEY=VALUE]... [--resume] [--out DIR]",
       R"(Runs the stages listed in a pipeline file, in order, each as if its command had been typed:
    name = "dna_full"
    [[stage]]
    name = "pretrain"
    command = "pretrain"
    config = "configs/dna_pretrain_small.toml"
    set = ["train.steps=300"]
    [[stage]]
    name = "species"
    command = "finetune"
    config = "configs/species_classify.toml"
    ckpt = "${pretrain}/last.h5"
Each stage runs in its own folder, <pipeline folder>/<stage name> (the pipeline folder is runs/<name>
or --out DIR); "${NAME}" in config, ckpt, set and out is the folder of the earlier stage NAME, and
"${out}" the pipeline folder. The file is checked before anything runs (commands, names, config files,
checkpoints that no stage writes). The run stops at the first stage that fails, with that stage's
error. --set applies to every stage's config, after the stage's own set. A finished stage leaves
stage_done in its folder; with --resume those are skipped and an unfinished training stage continues
from its last.h5. <pipeline folder>/pipeline.tsv lists each stage's status and time.

Examples:
    mambaseq run configs/pipelines/dna_full.toml
    mambaseq run configs/pipelines/piano_context.toml --dry-run
    mambaseq run configs/pipelines/piano_context.toml --resume)",
       kSet | kOut | kResume, 1, 1,
       {{"--dry-run", nullptr, "check the file and print each stage's command line; run nothing"}}, cmd_run,
       [] { return cfg::format_fields(cfg::describe<PipelineFile>()); },
       "Pipeline file keys (run's --set goes to the stages' configs)"},

      {"bench", "Measure speed and memory of the hot paths (scan, model, generate, io)",
       "mambaseq bench scan|model|generate|parity|io [--set KEY=VALUE]... [--out DIR]",
       R"(Times one part of the toolkit and prints a table last:
    scan      selective scan forward and backward at the reference shapes (D=1024, N=16,
              L = 2^10 ... 2^20, B = 2^20 / L): ms, achieved GB/s and the fraction of the memory-bandwidth
              floor, per dtype
    model     a training step of a MambaLM: tokens/s and peak memory
    generate  step-mode sampling at batch 1, 64 and 1024: tokens/s
    io        FASTA and audio loading into token windows: bases (samples) per second
    parity    the same 200-step training run on the CPU and the GPU: the loss curves' largest
              relative difference (fp32)
Settings are --set keys of the benchmark's section, e.g. --set scan.lengths=[4096] --set device=cpu,
--set model.lengths=[65536] --set generate.batches=[1,64]; scan.impls=["auto/auto","sliced:1/wide:1"]
times CUDA kernel variants side by side on the same inputs.
With --out DIR the table is also written as DIR/bench.jsonl.

Example:
    mambaseq bench scan)",
       kSet | kOut, 1, 1, {}, cmd_bench, {}},

      {"synth", "Train and evaluate the synthetic tasks (Selective Copying, Induction Heads)",
       "mambaseq synth -c FILE [--set KEY=VALUE]... [--resume] [--ckpt PATH] [--out DIR]",
       R"(The synthetic tasks of the Mamba paper. Selective Copying: 16 tokens from a vocabulary of 16 are
scattered over a long sequence of noise and must be recalled in order. Induction Heads: after a special
token, recall the token that followed its previous occurrence; trained at length 256 and evaluated at
lengths 2^6 ... 2^20 (in step mode or chunked, so memory stays bounded).

Rows in metrics.jsonl carry loss and accuracy for training, and accuracy with the sequence length
("length") for each evaluation length. Checkpoints and --resume work as for pretrain.

Examples:
    mambaseq synth -c configs/induction_heads.toml
    mambaseq synth -c configs/selective_copying.toml --set train.steps=2000)",
       kAllCommon, 0, 0, {}, cmd_synth, {}},

      {"data", "Inspect data as the loaders see it (FASTA regions, audio tokens)",
       "mambaseq data fetch FASTA REGION... | data tokens AUDIO [--mulaw|--linear] | data detokenize TOKENS WAV",
       R"(Prints data the way the training loaders read it, so users and tests can check it:
    fetch FASTA REGION...        the sequence of each region (chr:start-end, 1-based inclusive, as
                                 samtools faidx), from plain, gzip or bgzip FASTA (an index is built
                                 when missing)
    tokens AUDIO                 the token stream of an audio file, one integer per line (8-bit mu-law by
                                 default, or linear with --linear)
    detokenize TOKENS WAV        turns a token file (one integer per line, "-" for stdin) back into a
                                 16 kHz 16-bit WAV file (--linear for linear tokens)

Examples:
    mambaseq data fetch genome.fa.gz chr1:1000-1100
    mambaseq data tokens piano.wav --mulaw | head)",
       0, 1, -1,
       {{"--mulaw", nullptr, "8-bit mu-law tokens (mu = 255; the default)"},
        {"--linear", nullptr, "8-bit linear tokens"}},
       [](const Args& a) -> int {
         if (a.positional[0] == "tokens") return cmd_data_tokens(a);
         if (a.positional[0] == "detokenize") return cmd_data_detokenize(a);
         if (a.positional[0] == "fetch") return cmd_data_fetch(a);
         throw UsageError("unknown data action '" + a.positional[0] + "': expected fetch, tokens or detokenize");
       },
       {}},

      {"demo", "Train a small model on a built-in task and show its loss falling (no data needed)",
       "mambaseq demo [--set KEY=VALUE]... [--out DIR]",
       R"(A short end-to-end run that needs no data files: trains a small Mamba model on the Induction Heads
task on the CPU and reports its accuracy, writing a normal run folder (config.toml, metrics.jsonl,
checkpoints) under runs/demo (or --out DIR). --set changes its config like any other command's.

Example:
    mambaseq demo --set train.steps=100)",
       kSet | kOut, 0, 0, {}, cmd_demo, {}},
  };
  return table;
}

}  // namespace ms::cli
