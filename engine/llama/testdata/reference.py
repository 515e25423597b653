#!/usr/bin/python3
"""Independent NumPy reference for engine/llama's forward pass.

Usage: reference.py MODEL.gguf TOKEN [TOKEN ...]

Reads the GGUF file itself (header, metadata, tensor directory, and the
F32/F16/BF16/Q8_0/Q4_0/Q4_K/Q6_K block encodings, following ggml's
ggml-common.h and ggml-quants.c), runs the Llama/Qwen2 network in float64 one
token at a time and prints a JSON list with the next-token logits after each
token. Shares no code with the Go implementation; used by llama_test.go.
"""
import json
import struct
import sys

import numpy as np

GGML = {  # type id: (name, values per block, bytes per block)
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 30: ("BF16", 1, 2), 8: ("Q8_0", 32, 34),
    2: ("Q4_0", 32, 18), 12: ("Q4_K", 256, 144), 14: ("Q6_K", 256, 210),
}
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def unpack(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.off)[0]
        self.off += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.unpack("<Q")
        s = self.data[self.off:self.off + n].decode("utf-8")
        self.off += n
        return s

    def value(self, vt):
        if vt == 8:
            return self.string()
        if vt == 9:
            et, n = self.unpack("<I"), self.unpack("<Q")
            return [self.value(et) for _ in range(n)]
        return self.unpack(SCALARS[vt])


def read_gguf(path):
    data = open(path, "rb").read()
    r = Reader(data)
    assert data[:4] == b"GGUF", "not a GGUF file"
    r.off = 4
    version, n_tensors, n_kv = r.unpack("<I"), r.unpack("<Q"), r.unpack("<Q")
    assert version in (2, 3)
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.unpack("<Q") for _ in range(r.unpack("<I"))]
        infos.append((name, dims, r.unpack("<I"), r.unpack("<Q")))
    align = meta.get("general.alignment", 32)
    start = (r.off + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        _, bs, bb = GGML[typ]
        n = int(np.prod(dims))
        raw = np.frombuffer(data, dtype=np.uint8, count=n // bs * bb, offset=start + off)
        tensors[name] = dequantize(typ, raw, n).reshape(list(reversed(dims)))
    return meta, tensors


def f16(raw):
    return raw.copy().view(np.float16).astype(np.float64).reshape(-1)


def dequantize(typ, raw, n):
    name, bs, bb = GGML[typ]
    if name == "F32":
        return raw.view(np.float32).astype(np.float64)
    if name == "F16":
        return f16(raw)
    if name == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    b = raw.reshape(-1, bb)
    if name == "Q8_0":
        return (f16(b[:, :2])[:, None] * b[:, 2:].view(np.int8).astype(np.float64)).reshape(-1)
    if name == "Q4_0":
        q = b[:, 2:].astype(np.int64)
        vals = np.concatenate([(q & 15) - 8, (q >> 4) - 8], axis=1)
        return (f16(b[:, :2])[:, None] * vals).reshape(-1)
    if name == "Q4_K":
        d, dmin = f16(b[:, 0:2]), f16(b[:, 2:4])
        s = b[:, 4:16].astype(np.int64)
        sc = np.zeros((len(b), 8), np.int64)
        mn = np.zeros((len(b), 8), np.int64)
        for j in range(8):
            if j < 4:
                sc[:, j], mn[:, j] = s[:, j] & 63, s[:, j + 4] & 63
            else:
                sc[:, j] = (s[:, j + 4] & 15) | ((s[:, j - 4] >> 6) << 4)
                mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
        qs = b[:, 16:144].astype(np.int64).reshape(-1, 4, 32)
        q = np.stack([qs & 15, qs >> 4], axis=2).reshape(-1, 8, 32)  # sub-block j: 64·(j//2) + 32·(j%2)
        return (d[:, None, None] * sc[:, :, None] * q - dmin[:, None, None] * mn[:, :, None]).reshape(-1)
    if name == "Q6_K":
        ql = b[:, 0:128].astype(np.int64)
        qh = b[:, 128:192].astype(np.int64)
        sc = b[:, 192:208].view(np.int8).astype(np.float64)
        d = f16(b[:, 208:210])
        out = np.zeros((len(b), 256))
        for half in range(2):
            l4, h2 = ql[:, 64 * half:64 * half + 64], qh[:, 32 * half:32 * half + 32]
            parts = [
                (l4[:, :32] & 15) | ((h2 & 3) << 4),
                (l4[:, 32:] & 15) | (((h2 >> 2) & 3) << 4),
                (l4[:, :32] >> 4) | (((h2 >> 4) & 3) << 4),
                (l4[:, 32:] >> 4) | (((h2 >> 6) & 3) << 4),
            ]
            out[:, 128 * half:128 * half + 128] = np.concatenate(parts, axis=1) - 32
        scale = np.repeat(sc, 16, axis=1)  # value v uses scale v//16
        return (d[:, None] * scale * out).reshape(-1)
    raise ValueError(name)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x) + eps) * w


def main():
    meta, t = read_gguf(sys.argv[1])
    tokens = [int(a) for a in sys.argv[2:]]
    arch = meta["general.architecture"]
    g = lambda k, d=None: meta.get(f"{arch}.{k}", d)
    dim, n_layers, n_heads = g("embedding_length"), g("block_count"), g("attention.head_count")
    n_kv = g("attention.head_count_kv", n_heads)
    hd = g("attention.key_length", dim // n_heads)
    rope_dim = g("rope.dimension_count", hd)
    eps, base = g("attention.layer_norm_rms_epsilon", 1e-5), g("rope.freq_base", 10000.0)
    scale = g("rope.scaling.factor", 1.0) if g("rope.scaling.type") == "linear" else 1.0
    neox = arch == "qwen2"
    inv = base ** (-np.arange(0, rope_dim, 2) / rope_dim)
    if "rope_freqs.weight" in t:
        inv = inv / t["rope_freqs.weight"]
    inv = inv / scale
    out_w = t.get("output.weight", t["token_embd.weight"])

    def rope(x, pos):  # x: heads × hd
        x = x.copy()
        ang = pos * inv
        c, s = np.cos(ang), np.sin(ang)
        if neox:
            a, b = x[:, :rope_dim // 2].copy(), x[:, rope_dim // 2:rope_dim].copy()
            x[:, :rope_dim // 2], x[:, rope_dim // 2:rope_dim] = a * c - b * s, a * s + b * c
        else:
            a, b = x[:, 0:rope_dim:2].copy(), x[:, 1:rope_dim:2].copy()
            x[:, 0:rope_dim:2], x[:, 1:rope_dim:2] = a * c - b * s, a * s + b * c
        return x

    kc = [[] for _ in range(n_layers)]
    vc = [[] for _ in range(n_layers)]
    result = []
    for pos, tok in enumerate(tokens):
        x = t["token_embd.weight"][tok].copy()
        for l in range(n_layers):
            p = f"blk.{l}."
            h = rms_norm(x, t[p + "attn_norm.weight"], eps)
            q, k, v = t[p + "attn_q.weight"] @ h, t[p + "attn_k.weight"] @ h, t[p + "attn_v.weight"] @ h
            if p + "attn_q.bias" in t:
                q, k, v = q + t[p + "attn_q.bias"], k + t[p + "attn_k.bias"], v + t[p + "attn_v.bias"]
            q = rope(q.reshape(n_heads, hd), pos)
            k = rope(k.reshape(n_kv, hd), pos)
            kc[l].append(k)
            vc[l].append(v.reshape(n_kv, hd))
            K, V = np.stack(kc[l]), np.stack(vc[l])  # positions × kv heads × hd
            att = np.zeros((n_heads, hd))
            for head in range(n_heads):
                kvh = head // (n_heads // n_kv)
                s = K[:, kvh, :] @ q[head] / np.sqrt(hd)
                w = np.exp(s - s.max())
                att[head] = (w / w.sum()) @ V[:, kvh, :]
            x = x + t[p + "attn_output.weight"] @ att.reshape(-1)
            h = rms_norm(x, t[p + "ffn_norm.weight"], eps)
            gate, up = t[p + "ffn_gate.weight"] @ h, t[p + "ffn_up.weight"] @ h
            x = x + t[p + "ffn_down.weight"] @ (gate / (1 + np.exp(-gate)) * up)
        result.append((out_w @ rms_norm(x, t["output_norm.weight"], eps)).tolist())
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
