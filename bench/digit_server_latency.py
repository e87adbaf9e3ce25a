#!/usr/bin/env python3
"""Latency of digit_server's POST /predict from a local client: N requests
(default 1000) over one keep-alive connection, each a 280x280 PNG like the
page sends; prints the median and p99 in ms. Not a CTest (timing).

    bench/digit_server_latency.py build/release/examples/digit_server MODEL.safetensors [--n 1000] [--image IMG]
"""
import argparse
import http.client
import io
import json
import socket
import statistics
import subprocess
import time


def drawing():
    from PIL import Image, ImageDraw  # python3-pil
    im = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    ImageDraw.Draw(im).line([(70, 60), (210, 60), (120, 230)], fill=(0, 0, 0, 255), width=18, joint="curve")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--image")
    args = ap.parse_args()
    body = open(args.image, "rb").read() if args.image else drawing()
    srv = subprocess.Popen([args.server, "--model", args.model, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline().split("127.0.0.1:")[1].split("/")[0])
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.connect()
        # http.client sends headers and body in two writes: without TCP_NODELAY, Nagle
        # plus the server's delayed ACK add ~40 ms to every request.
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times, server_ms = [], []
        for i in range(args.n + 20):
            t0 = time.perf_counter()
            c.request("POST", "/predict", body=body, headers={"Content-Type": "image/png"})
            r = c.getresponse()
            data = r.read()
            dt = (time.perf_counter() - t0) * 1000
            assert r.status == 200, data
            if i >= 20:  # warm-up excluded
                times.append(dt)
                server_ms.append(json.loads(data)["ms"])
        times.sort()
        top = json.loads(data)["top"][0]
        print(f"{args.n} requests, {len(body)}-byte PNG, top-1 {top['digit']} ({top['p']:.3f})")
        print(f"round trip: median {statistics.median(times):.2f} ms, p99 {times[int(0.99 * len(times)) - 1]:.2f} ms, "
              f"max {times[-1]:.2f} ms")
        print(f"inside the server (preprocess + forward): median {statistics.median(server_ms):.2f} ms")
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
