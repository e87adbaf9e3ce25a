#!/usr/bin/python3
"""The tabular example against baselines on the same split: for each data set,
runs examples/tabular (which prints the MLP's validation score and the
majority/mean baseline) with --split-out, then fits scikit-learn's
LogisticRegression (classification) or Ridge (regression) on the same
training rows, with the same preparation (numbers imputed with the training
mean and standardised, strings one-hot), and scores the same validation rows.

    /usr/bin/python3 bench/compare_tabular.py [--build build/release] [--seed 1]

Needs Debian's python3-sklearn, python3-pandas and python3-statsmodels (their CSV files).
"""
import argparse, os, re, subprocess, sys, tempfile

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge

D = "/usr/lib/python3/dist-packages"
SETS = [
    ("wine", f"{D}/sklearn/datasets/data/wine_data.csv", ["--skip-rows", "1", "--no-header", "--target", "13"]),
    ("breast_cancer", f"{D}/sklearn/datasets/data/breast_cancer.csv", ["--skip-rows", "1", "--no-header", "--target", "30"]),
    ("fair (affairs > 0)", f"{D}/statsmodels/datasets/fair/fair.csv", ["--target-expr", "affairs > 0"]),
    ("modechoice", f"{D}/statsmodels/datasets/modechoice/modechoice.csv", ["--target", "choice", "--drop", "individual"]),
]

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build/release")
ap.add_argument("--seed", default="1")
a = ap.parse_args()
exe = os.path.join(a.build, "examples", "tabular")

rows = []
for name, path, flags in SETS:
    with tempfile.TemporaryDirectory() as tmp:
        split_path = os.path.join(tmp, "split.csv")
        out = subprocess.run([exe, "--csv", path, "--seed", a.seed, "--split-out", split_path] + flags, check=True,
                             capture_output=True, text=True).stdout
        split = pd.read_csv(split_path)
    m = re.search(r"validation (accuracy|RMSE) ([\d.]+)%?\s+\((?:majority-class|mean) baseline ([\d.]+)", out)
    kind, mlp, base = m.group(1), float(m.group(2)), float(m.group(3))
    skip = 1 if "--skip-rows" in flags else 0
    df = pd.read_csv(path, skiprows=skip, header=None if "--no-header" in flags else "infer", sep=None, engine="python")
    df.columns = [str(c) for c in df.columns]
    if "--target-expr" in flags:
        y = (df["affairs"] > 0).astype(int).values
        X = df.drop(columns=["affairs"])
    else:
        t = flags[flags.index("--target") + 1]
        y = df[t].values
        drop = [t] + (flags[flags.index("--drop") + 1].split(",") if "--drop" in flags else [])
        X = df.drop(columns=drop)
    tr = split[split.split == "train"].row.values
    va = split[split.split == "val"].row.values
    num = X.select_dtypes("number").columns
    Xn = X[num].astype(float)
    mean, std = Xn.iloc[tr].mean(), Xn.iloc[tr].std(ddof=0).replace(0, 1)
    Xn = ((Xn.fillna(mean) - mean) / std).values
    Xs = pd.get_dummies(X.drop(columns=num).astype(str)).values if len(num) < X.shape[1] else np.zeros((len(X), 0))
    Xa = np.hstack([Xn, Xs])
    if kind == "accuracy":
        clf = LogisticRegression(max_iter=2000).fit(Xa[tr], y[tr])
        sk = 100 * (clf.predict(Xa[va]) == y[va]).mean()
    else:
        reg = Ridge().fit(Xa[tr], y[tr])
        sk = float(np.sqrt(((reg.predict(Xa[va]) - y[va]) ** 2).mean()))
    rows.append((name, kind, len(tr), len(va), base, mlp, sk))
    print(f"{name}: {out.strip().splitlines()[-1]}", flush=True)

model = "LogisticRegression / Ridge"
print(f"\n| data set | metric | train / val rows | baseline | Ember MLP | scikit-learn {model} |")
print("|---|---|---|---|---|---|")
for name, kind, ntr, nva, base, mlp, sk in rows:
    unit = "%" if kind == "accuracy" else ""
    print(f"| {name} | {kind} | {ntr} / {nva} | {base:.2f}{unit} | {mlp:.2f}{unit} | {sk:.2f}{unit} |")
