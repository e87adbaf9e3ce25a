#!/usr/bin/env python3
"""digit_server against hostile and unusual clients, on loopback only, each
case bounded in count and time:

    digit_server_hostile.py DIGIT_SERVER MODEL PNG

- a chunked body over --max-body gets 413 before the client has sent it all;
- a multipart/form-data upload (as curl -F file=@digit.png sends) is read;
- eight clients sending a body byte every 2 s and thirty silent ones do not
  delay a normal request, and the slow ones are cut off;
- a head with 200,000 headers gets 431, and does not delay a normal request;
- a header line without a colon, and a repeated Content-Length, get 400;
  PUT, DELETE and PATCH get 405 with Allow;
- --port abc is refused by name.
"""
import http.client
import socket
import subprocess
import sys
import threading
import time

MAX_BODY = 1_000_000


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def status_of(raw):
    """The status code of a raw HTTP answer, or None."""
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def raw_request(port, data, timeout=10.0):
    """Sends bytes, returns the whole answer (until the server closes or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def timed_predict(port, png):
    """Seconds a normal POST /predict takes, and its status."""
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/predict", body=png, headers={"Content-Type": "image/png"})
        r = c.getresponse()
        r.read()
        return time.monotonic() - t, r.status
    except OSError as e:
        return time.monotonic() - t, f"no answer ({e})"
    finally:
        c.close()


def check_chunked_limit(port, png):
    # A chunked PNG that grows past --max-body: the answer must come while it is still being sent.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = png + b"\0" * (65536 - len(png))
    sent, answer = 0, b""
    s.setblocking(False)
    deadline = time.monotonic() + 20
    while sent < 40 * MAX_BODY and time.monotonic() < deadline and not answer:
        try:
            s.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            answer = s.recv(65536)
        except BlockingIOError:
            pass
        except ConnectionResetError:
            break
    if not answer:  # the server stopped reading: its answer is waiting
        s.setblocking(True)
        s.settimeout(5)
        try:
            answer = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            pass
    s.close()
    if status_of(answer) != 413:
        fail(f"a chunked body growing past --max-body {MAX_BODY} got {answer[:80]!r} after {sent} bytes sent")
    if sent >= 40 * MAX_BODY:
        fail(f"the server read all {sent} chunked bytes before refusing")
    # A whole chunked PNG within the limit is read.
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(png), png)
    answer = raw_request(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
    if status_of(answer) != 200 or b'"top"' not in answer:
        fail(f"a chunked PNG within the limit got {answer[:120]!r}")
    print(f"chunked: 413 after {sent} of up to {40 * MAX_BODY} bytes sent; a chunked PNG within the limit is read")


def check_multipart(port, png):
    boundary = "------------------------d74496d66958873e"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/predict", body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200 or b'"top"' not in data:
        fail(f"a multipart upload got {r.status} {data[:120]!r}")
    print("multipart: the file part is read")


def check_slow_clients(port, png):
    base = min(timed_predict(port, png)[0] for _ in range(3))
    socks, stop = [], threading.Event()
    for _ in range(30):  # silent: connect and send nothing
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
    slow = []
    for _ in range(8):  # a body byte every 2 s
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
        slow.append(s)
    cut_off = []

    def drip(s):
        start = time.monotonic()
        while not stop.is_set() and time.monotonic() - start < 30:
            try:
                s.sendall(b"\0")
            except OSError:
                cut_off.append(time.monotonic() - start)
                return
            s.settimeout(2.0)
            try:
                if s.recv(4096) == b"":
                    cut_off.append(time.monotonic() - start)
                    return
                cut_off.append(time.monotonic() - start)  # an answer (408)
                return
            except socket.timeout:
                pass
            except OSError:
                cut_off.append(time.monotonic() - start)
                return

    threads = [threading.Thread(target=drip, args=(s,)) for s in slow]
    for t in threads:
        t.start()
    time.sleep(2.5)  # the attack is under way
    during, status = timed_predict(port, png)
    for t in threads:
        t.join(timeout=35)
    stop.set()
    for s in socks + slow:
        s.close()
    print(f"slow clients: a normal request took {during * 1000:.0f} ms during the attack "
          f"({base * 1000:.0f} ms before); slow clients cut off after {sorted(round(c, 1) for c in cut_off)} s")
    if status != 200:
        fail(f"a normal request during the slow-client attack got {status}")
    if during > max(2.0, 20 * base):
        fail(f"a normal request took {during:.1f} s under the slow-client attack (vs {base:.3f} s)")
    if len(cut_off) != 8 or max(cut_off) > 20:
        fail(f"the slow clients were not cut off within 20 s: {cut_off}")


def check_header_flood(port, png):
    base = min(timed_predict(port, png)[0] for _ in range(3))
    flood = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-a: b\r\n" * 200_000 + b"\r\n"
    answers = []

    def send():
        answers.append(raw_request(port, flood, timeout=20))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    during, status = timed_predict(port, png)
    for t in threads:
        t.join(timeout=30)
    codes = [status_of(a) for a in answers]
    print(f"header flood: answers {codes}; a normal request took {during * 1000:.0f} ms during it "
          f"({base * 1000:.0f} ms before)")
    if codes != [431] * 4:
        fail(f"200,000 headers got {codes}, not 431")
    if status != 200 or during > max(2.0, 20 * base):
        fail(f"a normal request during the header flood took {during:.1f} s, status {status}")


def check_strict_http(port):
    a = raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n")
    if status_of(a) != 400:
        fail(f"a header line without a colon got {a[:60]!r}")
    for lengths in ((b"5", b"100"), (b"5", b"5")):
        a = raw_request(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + lengths[0] +
                        b"\r\nContent-Length: " + lengths[1] + b"\r\n\r\nhello")
        if status_of(a) != 400:
            fail(f"Content-Length {lengths} got {a[:60]!r}")
    a = raw_request(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"0\r\n\r\n")
    if status_of(a) != 400:
        fail(f"Content-Length beside chunked got {a[:60]!r}")
    for method, path, allow in (("PUT", "/predict", "POST"), ("DELETE", "/", "GET"), ("PATCH", "/predict", "POST")):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, path, body=b"x")
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 405 or allow not in (r.getheader("Allow") or ""):
            fail(f"{method} {path} got {r.status}, Allow {r.getheader('Allow')!r}")
    print("strict HTTP: 400 for a line without a colon, repeated or conflicting lengths; 405 with Allow")


def check_flags(server, model):
    r = subprocess.run([server, "--model", model, "--port", "abc"], capture_output=True, text=True, timeout=30)
    if r.returncode != 2 or "--port" not in r.stderr or "abc" not in r.stderr or "stoi" in r.stderr:
        fail(f"--port abc: exit {r.returncode}, {r.stderr.strip()!r}")
    print(f"flags: {r.stderr.strip()}")


def main():
    server, model, png_path = sys.argv[1:4]
    png = open(png_path, "rb").read()
    only = sys.argv[4:]  # names of checks to run (flags chunked multipart strict headers slow), for debugging
    if not only or "flags" in only:
        check_flags(server, model)
    srv = subprocess.Popen([server, "--model", model, "--port", "0", "--max-body", str(MAX_BODY)],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        print(line.strip())
        if "listening on http://127.0.0.1:" not in line:
            fail("digit_server did not start")
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        checks = [lambda: check_chunked_limit(port, png), lambda: check_multipart(port, png),
                  lambda: check_strict_http(port), lambda: check_header_flood(port, png),
                  lambda: check_slow_clients(port, png)]
        names = ["chunked", "multipart", "strict", "headers", "slow"]
        for name, check in zip(names, checks):
            if not only or name in only:
                check()
        if srv.poll() is not None:
            fail("the server died")
        print("PASS")
        return 0
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    sys.exit(main())
