#!/usr/bin/env python3
"""The learning attacker: a small CNN trained on captchas from bench/attacker/dataset.ts.

    python3 train.py --train DIR --test DIR [--minutes 40] [--epochs E] [--json FILE]
                     [--threads 2] [--batch 32] [--width 32,64,96,128] [--shift 3] [--save FILE]

DIR holds images.npy (uint8, N x H x W) and meta.json (labels, alphabet, ...). Nothing about the
captcha is fixed here: the image size comes from the arrays, the classes from the alphabet in
meta.json (upper-cased: answers are compared case-insensitively, as normalizeAnswer does) plus
every character seen in a label, and the number of positions from the longest answer. A blank
class per position pads shorter answers, so a length that varies per captcha is handled too.

Model: conv blocks (3x3 conv, batch norm, ReLU; the first with stride 2, all but the last followed
by 2x2 max pooling), a max over the remaining rows, a shared 256-unit layer over the flattened
columns, and one softmax head per character position. Trained with AdamW, a one-cycle learning
rate over the time budget (or the epochs), label smoothing and random shifts of a few pixels;
every epoch draws a new order.

Training stops at --minutes of training wall time (evaluation excluded) or after --epochs,
whichever comes first. The test set is only evaluated (after every epoch, for the curve, and at
the end); nothing is chosen with it: the result is the model as it stands when the time runs out.
"""
import argparse
import collections
import ctypes
import json
import math
import os
import platform
import sys
import time

# Before torch loads OpenMP: threads that wait sleep instead of spinning. On a shared machine a
# spinning thread takes the core its partner needs; 2 threads went from 3x slower than 1 to par.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

BLANK = "\u2205"  # how a blank position is shown in confusions


def tune_malloc():
    """Keep freed memory in the heap. glibc hands blocks above its mmap threshold back to the
    kernel on free, so every batch's activations (tens of MB) are faulted in afresh; on the
    project's VM that made a training step 2-3 times slower. No effect outside glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD: its maximum on 64-bit
        libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD: never trim the heap's top
        return True
    except (OSError, AttributeError):
        return False


def load(folder):
    with open(os.path.join(folder, "meta.json"), encoding="utf8") as f:
        meta = json.load(f)
    images = np.load(os.path.join(folder, "images.npy"))
    if images.ndim != 3 or images.dtype != np.uint8 or images.shape[0] != len(meta["labels"]):
        sys.exit(f"train.py: {folder}: images {images.shape} {images.dtype} do not match {len(meta['labels'])} labels")
    return images, meta


def encode(labels, classes, length):
    """Targets as class indices, blank (index 0) after the end of a shorter answer."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(labels), length), dtype=np.int64)
    for n, label in enumerate(labels):
        for p, ch in enumerate(label.upper()):
            y[n, p] = index[ch]
    return y


def decode(indices, classes):
    return "".join(classes[i] for i in indices if i != 0)


def prepare(batch_u8, shift=0):
    """uint8 N x H x W (dark ink on light) -> float N x 1 x H x W, ink bright, each image stretched to [0, 1]."""
    x = 1.0 - batch_u8.float().div_(255.0)
    lo = x.amin(dim=(1, 2), keepdim=True)
    hi = x.amax(dim=(1, 2), keepdim=True)
    x = (x - lo).div_((hi - lo).clamp_min_(1e-3))
    x = x.unsqueeze(1)
    if shift > 0:
        n, _, h, w = x.shape
        padded = F.pad(x, (shift, shift, shift, shift))
        dx = torch.randint(0, 2 * shift + 1, (n,))
        dy = torch.randint(0, 2 * shift + 1, (n,))
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return x


class Net(nn.Module):
    def __init__(self, height, width, length, classes, widths, hidden=256, dropout=0.2):
        super().__init__()
        layers, cin = [], 1
        for i, cout in enumerate(widths):
            layers += [
                nn.Conv2d(cin, cout, 3, stride=2 if i == 0 else 1, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            self.feature_shape = tuple(self.features(torch.zeros(1, 1, height, width)).shape[1:])
        flat = self.feature_shape[0] * self.feature_shape[2]
        self.length, self.classes = length, classes
        # Max over the rows left (glyphs jump up and down; which row does not matter), keep the columns.
        self.shared = nn.Sequential(nn.AdaptiveMaxPool2d((1, None)), nn.Flatten(), nn.Dropout(dropout), nn.Linear(flat, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
        # One head per position, stored as one matrix: position p owns rows p*classes ... (p+1)*classes-1.
        self.heads = nn.Linear(hidden, length * classes)

    def forward(self, x):
        return self.heads(self.shared(self.features(x))).view(-1, self.length, self.classes)


def evaluate(model, images, targets, classes, batch=32):
    model.eval()
    preds, t0, c0 = [], time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            preds.append(model(prepare(images[i : i + batch])).argmax(dim=2))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    model.train()
    pred = torch.cat(preds).numpy()
    truth = targets.numpy()
    whole = [decode(p, classes) == decode(t, classes) for p, t in zip(pred, truth)]
    # Per character: over every position; when lengths vary, that includes the blank positions
    # where a shorter answer must be recognised as ending.
    per_char = float((pred == truth).mean())
    per_position = [float((pred[:, p] == truth[:, p]).mean()) for p in range(truth.shape[1])]
    confusions = collections.Counter()
    for p_row, t_row in zip(pred, truth):
        for p, t in zip(p_row, t_row):
            if p != t:
                confusions[(classes[t] if t else BLANK, classes[p] if p else BLANK)] += 1
    wrong = [
        {"answer": decode(t, classes), "read": decode(p, classes)} for p, t, ok in zip(pred, truth, whole) if not ok
    ][:12]
    return {
        "accuracy": float(np.mean(whole)),
        "correct": int(np.sum(whole)),
        "n": len(whole),
        "charAccuracy": per_char,
        "perPosition": per_position,
        "confusions": [{"answer": a, "read": r, "count": k} for (a, r), k in confusions.most_common(20)],
        "wrongExamples": wrong,
        "inferenceWallMsPerImage": 1000 * wall / len(images),
        "inferenceCpuMsPerImage": 1000 * cpu / len(images),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--minutes", type=float, default=40.0, help="training wall-time budget (evaluation excluded)")
    ap.add_argument("--epochs", type=float, default=None, help="stop after this many epochs (may be fractional)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--width", default="32,64,96,128", help="channels per conv block")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--shift", type=int, default=3, help="random shift in pixels (0: no augmentation)")
    ap.add_argument("--eval-every", type=float, default=1.0, help="evaluate on the test set every this many epochs (0: only at the end)")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--save", help="save the trained weights here")
    args = ap.parse_args()

    tune_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(int.from_bytes(os.urandom(4), "little"))

    x_train, m_train = load(args.train)
    x_test, m_test = load(args.test)
    if x_train.shape[1:] != x_test.shape[1:]:
        sys.exit(f"train.py: train images are {x_train.shape[1:]}, test images {x_test.shape[1:]}")
    height, width = x_train.shape[1:]
    alphabet = []
    for ch in (m_train.get("alphabet", "") + m_test.get("alphabet", "") + "".join(m_train["labels"] + m_test["labels"])).upper():
        if ch not in alphabet:
            alphabet.append(ch)
    classes = [BLANK] + alphabet  # index 0 is the blank
    lengths = [len(label) for label in m_train["labels"] + m_test["labels"]]
    length = max(lengths)
    if isinstance(m_train.get("length"), int):
        length = max(length, m_train["length"])
    y_train = torch.from_numpy(encode(m_train["labels"], classes, length))
    y_test = torch.from_numpy(encode(m_test["labels"], classes, length))
    x_train_t, x_test_t = torch.from_numpy(x_train), torch.from_numpy(x_test)

    widths = [int(w) for w in args.width.split(",")]
    model = Net(height, width, length, len(classes), widths, dropout=args.dropout)
    params = sum(p.numel() for p in model.parameters())
    arch = (
        f"input 1x{height}x{width} (grayscale, inverted, per-image min-max); "
        + "; ".join(
            f"conv3x3 {w}{' stride 2' if i == 0 else ''} + BN + ReLU{' + maxpool 2' if i < len(widths) - 1 else ''}" for i, w in enumerate(widths)
        )
        + f" -> {'x'.join(map(str, model.feature_shape))} -> max over rows -> {model.feature_shape[0]}x{model.feature_shape[2]}"
        + f" -> dropout {args.dropout}, linear 256 + ReLU, dropout {args.dropout}"
        + f" -> {length} heads x {len(classes)} classes (alphabet {''.join(alphabet)} + blank)"
    )
    print(f"[attacker] {len(x_train)} training / {len(x_test)} test images, {height}x{width}, {length} positions, {len(alphabet)} characters")
    print(f"[attacker] {arch}; {params:,} parameters; torch {torch.__version__}, {torch.get_num_threads()} threads")

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60.0
    steps_per_epoch = math.ceil(len(x_train) / args.batch)
    max_steps = math.ceil(args.epochs * steps_per_epoch) if args.epochs else None

    def progress(elapsed, step):
        p = elapsed / budget if budget > 0 else 0.0
        if max_steps:
            p = max(p, step / max_steps)
        return min(p, 1.0)

    def lr_at(p):  # one cycle: 5% warm-up, then cosine down to 2% of the peak
        if p < 0.05:
            return args.lr * (0.1 + 0.9 * p / 0.05)
        q = (p - 0.05) / 0.95
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * q)))

    curve, trained, step, images_seen = [], 0.0, 0, 0
    next_eval = args.eval_every if args.eval_every > 0 else float("inf")
    model.train()
    done = False
    while not done:
        order = torch.randperm(len(x_train))
        loss_sum, loss_n, t_epoch = 0.0, 0, time.perf_counter()
        for i in range(0, len(order), args.batch):
            t0 = time.perf_counter()
            idx = order[i : i + args.batch]
            x = prepare(x_train_t[idx], args.shift)
            y = y_train[idx]
            for group in opt.param_groups:
                group["lr"] = lr_at(progress(trained, step))
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, len(classes)), y.reshape(-1), label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            images_seen += len(idx)
            loss_sum += float(loss) * len(idx)
            loss_n += len(idx)
            trained += time.perf_counter() - t0
            if progress(trained, step) >= 1.0:
                done = True
                break
        epochs = images_seen / len(x_train)
        line = f"[attacker] epoch {epochs:.2f}: {trained:.0f} s training, loss {loss_sum / max(1, loss_n):.3f}"
        if epochs >= next_eval - 1e-9 and not done:
            r = evaluate(model, x_test_t, y_test, classes)
            curve.append({"epochs": round(epochs, 3), "trainSeconds": round(trained, 1), "loss": loss_sum / max(1, loss_n), "testAccuracy": r["accuracy"], "testCharAccuracy": r["charAccuracy"]})
            line += f", test {r['accuracy']:.1%} whole, {r['charAccuracy']:.1%} per character"
            while next_eval <= epochs + 1e-9:
                next_eval += args.eval_every
        print(line + f" ({time.perf_counter() - t_epoch:.0f} s wall)", flush=True)

    final = evaluate(model, x_test_t, y_test, classes)
    epochs = images_seen / len(x_train)
    curve.append({"epochs": round(epochs, 3), "trainSeconds": round(trained, 1), "loss": loss_sum / max(1, loss_n), "testAccuracy": final["accuracy"], "testCharAccuracy": final["charAccuracy"]})
    result = {
        "accuracy": final["accuracy"],
        "correct": final["correct"],
        "testImages": final["n"],
        "charAccuracy": final["charAccuracy"],
        "perPosition": final["perPosition"],
        "confusions": final["confusions"],
        "wrongExamples": final["wrongExamples"],
        "trainImages": len(x_train),
        "trainSeconds": trained,
        "budgetSeconds": budget,
        "epochs": epochs,
        "steps": step,
        "batch": args.batch,
        "peakLr": args.lr,
        "shift": args.shift,
        "params": params,
        "architecture": arch,
        "imageHeight": height,
        "imageWidth": width,
        "positions": length,
        "alphabet": "".join(alphabet),
        "answerLengths": sorted(set(lengths)),
        "inferenceCpuMsPerImage": final["inferenceCpuMsPerImage"],
        "inferenceWallMsPerImage": final["inferenceWallMsPerImage"],
        "curve": curve,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }
    print(
        f"[attacker] after {epochs:.2f} epochs ({trained:.0f} s) on {len(x_train)} images: "
        f"{final['correct']}/{final['n']} whole answers ({final['accuracy']:.1%}), {final['charAccuracy']:.1%} per character; "
        f"per position {', '.join(f'{a:.0%}' for a in final['perPosition'])}"
    )
    if final["confusions"]:
        print("[attacker] most frequent confusions (answer->read): " + ", ".join(f"{c['answer']}->{c['read']} {c['count']}" for c in final["confusions"][:10]))
    if args.json:
        with open(args.json, "w", encoding="utf8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    if args.save:
        torch.save({"state": model.state_dict(), "classes": classes, "length": length, "widths": widths, "size": [height, width]}, args.save)


if __name__ == "__main__":
    main()
