#!/usr/bin/env python3
"""Load and abuse against a running mugai listener, with the figures an
operator asks for: is a normal client still served, how long do abusers
keep their slots, how much memory does the relay take and give back.

    bench/abuse.py PORT PID [scenario ...]

PORT is an in-line or spool listener accepting example.lg.jp; PID is the
mugai process (its VmHWM and VmRSS are read from /proc). Scenarios:

  burst    20 sessions at once, each one 10 MB message (text, verified
           and delivered): wall time, peak RSS, RSS 5 and 20 s later
  slow     40 clients sending a 60-byte command a byte a second, while a
           normal client sends 10 KB messages one after another for 20 s
  idle     1,000 connections that say nothing, the same normal client
  halfdata 40 clients that send DATA and 1 MB, then stop; the same client
  longline a header line of 4 MB without a line end, then a normal message

Normal clients report messages served, their median and slowest reply.
Standard library only; prints one line per scenario.
"""
import asyncio
import os
import random
import statistics
import sys
import time

HOST = "127.0.0.1"


def rss(pid):
    """(VmHWM, VmRSS) of the process, in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    mb = lambda k: int(fields[k].split()[0]) / 1024
    return mb("VmHWM"), mb("VmRSS")


async def reply(reader):
    """One whole (possibly multi-line) reply: its code and text."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            return 0, "".join(lines)
        lines.append(line.decode(errors="replace"))
        if line[3:4] != b"-":
            return int(line[:3]), "".join(lines)


async def send(port, body, timeout=600):
    """One message through a fresh session; the final reply code."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    try:
        code, text = await reply(reader)
        if code != 220:
            return code
        for cmd in (b"EHLO bench\r\n", b"MAIL FROM:<bench@example.com>\r\n",
                    b"RCPT TO:<user@example.lg.jp>\r\n", b"DATA\r\n"):
            writer.write(cmd)
            code, _ = await asyncio.wait_for(reply(reader), timeout)
            if code >= 400:
                return code
        writer.write(body + b".\r\n")
        code, _ = await asyncio.wait_for(reply(reader), timeout)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        return code
    finally:
        writer.close()


def message(size):
    head = (b"From: bench@example.com\r\nTo: user@example.lg.jp\r\nSubject: load\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    line = "会議の資料を確認してください。予算の件です。\r\n".encode()
    return head + line * (size // len(line) + 1)


async def normal_client(port, seconds):
    """10 KB messages one after another for `seconds`: served, median and slowest reply."""
    body, times, codes = message(10 * 1024), [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            codes.append(await send(port, body, timeout=60))
        except (OSError, asyncio.TimeoutError):
            codes.append(0)
        times.append(time.monotonic() - t)
        await asyncio.sleep(0.1)
    served = sum(1 for c in codes if c == 250)
    return f"normal client {served}/{len(codes)} served, median {statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms"


async def slow_client(port, line, pause):
    """Sends `line` a byte every `pause`; seconds until the server closed (or it finished)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return 0.0, "refused"
    code, text = await reply(reader)
    said = asyncio.ensure_future(reply(reader))
    for b in line:
        if said.done():
            break
        try:
            writer.write(bytes([b]))
            await writer.drain()
        except OSError:
            break
        await asyncio.sleep(pause)
    try:
        code, text = await asyncio.wait_for(said, 30)
    except asyncio.TimeoutError:
        code, text = 0, ""
    writer.close()
    return time.monotonic() - start, text.strip()


async def burst(port, pid):
    body = message(10 * 1024 * 1024)
    start = time.monotonic()
    codes = await asyncio.gather(*(send(port, body) for _ in range(20)))
    wall = time.monotonic() - start
    # A spool keeps working after the last 250: the peak is read when the
    # RSS has settled, and what is left after.
    await asyncio.sleep(5)
    _, after5 = rss(pid)
    await asyncio.sleep(15)
    peak, after20 = rss(pid)
    ok = sum(1 for c in codes if c == 250)
    return (f"burst: {ok}/20 x 10 MB accepted in {wall:.1f} s; peak RSS {peak:.0f} MB, "
            f"{after5:.0f} MB 5 s later, {after20:.0f} MB 20 s later")


async def slow(port, pid):
    line = b"EHLO " + b"s" * 53 + b"\r\n"  # 60 s at a byte a second
    slow = [asyncio.ensure_future(slow_client(port, line, 1.0)) for _ in range(40)]
    normal = await normal_client(port, 20)
    held = [t for t, _ in await asyncio.gather(*slow)]
    return f"slow: 40 clients at 1 byte/s held their slots {statistics.median(held):.0f} s (median), {max(held):.0f} s (longest); {normal}"


async def idle(port, pid):
    _, before = rss(pid)
    conns = []
    for _ in range(1000):
        try:
            conns.append(await asyncio.open_connection(HOST, port))
        except OSError:
            break
    await asyncio.sleep(1)
    _, during = rss(pid)
    normal = await normal_client(port, 10)
    for _, w in conns:
        w.close()
    return f"idle: {len(conns)} silent connections, {(during - before) * 1024 / max(len(conns), 1):.0f} KB each; {normal}"


async def halfdata(port, pid):
    async def half():
        start = time.monotonic()
        reader, writer = await asyncio.open_connection(HOST, port)
        await reply(reader)
        for cmd in (b"EHLO half\r\n", b"MAIL FROM:<a@example.com>\r\n", b"RCPT TO:<user@example.lg.jp>\r\n", b"DATA\r\n"):
            writer.write(cmd)
            await reply(reader)
        writer.write(message(1024 * 1024))
        await writer.drain()
        code, text = await reply(reader)
        writer.close()
        return time.monotonic() - start, text.strip()
    tasks = [asyncio.ensure_future(half()) for _ in range(40)]
    normal = await normal_client(port, 20)
    done = await asyncio.gather(*tasks)
    held = [t for t, _ in done]
    peak, now = rss(pid)
    return f"halfdata: 40 clients stopped 1 MB into DATA, closed after {statistics.median(held):.0f} s ({done[0][1]!r}); {normal}; RSS {now:.0f} MB"


async def longline(port, pid):
    head = b"Subject: " + b"x" * (4 * 1024 * 1024)
    try:
        code = await send(port, head + b"\r\n\r\nbody\r\n")
    except (OSError, asyncio.TimeoutError) as e:
        code = repr(e)
    after = await send(port, message(10 * 1024))
    return f"longline: a 4 MB header line answered {code}; the next message {after}"


async def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    scenarios = sys.argv[3:] or ["burst", "slow", "idle", "halfdata", "longline"]
    for name in scenarios:
        print(await globals()[name](port, pid), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
