"""A small writer of OLE2 compound files (MS-CFB, version 3), for samples
that must be compound files mugai did not write: Outlook .msg files.

cfb_of({"a/b": b"data", ...}) -> bytes. Paths name streams; the storages
on the way are made. Streams under 4096 bytes go to the mini stream, as
the format requires. Siblings are chained through their right pointers
(every node black), which readers accept.
"""
import struct

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


class Node:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind  # kind: 1 storage, 2 stream, 5 root
        self.children, self.data = {}, b""
        self.start, self.size, self.id = END, 0, 0


def _order(name):
    # Siblings sort by name length, then by upper-case name (MS-CFB 2.6.4).
    return (len(name), name.upper())


def cfb_of(streams):
    root = Node("Root Entry", 5)
    for path, data in streams.items():
        node = root
        parts = path.strip("/").split("/")
        for part in parts[:-1]:
            node = node.children.setdefault(part, Node(part, 1))
        leaf = node.children.setdefault(parts[-1], Node(parts[-1], 2))
        leaf.data = data

    nodes = []

    def number(n):
        n.id = len(nodes)
        nodes.append(n)
        for c in sorted(n.children.values(), key=lambda c: _order(c.name)):
            number(c)

    number(root)

    # Mini stream: small streams, 64-byte sectors.
    mini, minifat = b"", []
    big = []
    for n in nodes:
        if n.kind != 2:
            continue
        n.size = len(n.data)
        if n.size == 0:
            n.start = END
        elif n.size < CUTOFF:
            count = -(-n.size // MINI)
            n.start = len(minifat)
            minifat += [len(minifat) + i + 1 for i in range(count - 1)] + [END]
            mini += n.data + b"\0" * (count * MINI - n.size)
        else:
            big.append(n)

    # Regular sectors: big streams, the mini stream, the mini FAT, the
    # directory, then the FAT itself.
    sectors, fat = [], []

    def place(data):
        if not data:
            return END
        count = -(-len(data) // SECTOR)
        start = len(sectors)
        data += b"\0" * (count * SECTOR - len(data))
        for i in range(count):
            sectors.append(data[i * SECTOR:(i + 1) * SECTOR])
            fat.append(start + i + 1 if i + 1 < count else END)
        return start

    for n in big:
        n.start = place(n.data)
    root.start = place(mini)
    root.size = len(mini)
    minifat_bytes = b"".join(struct.pack("<I", x) for x in minifat)
    minifat_bytes += struct.pack("<I", FREE) * (-len(minifat) % (SECTOR // 4))
    minifat_start = place(minifat_bytes) if minifat else END

    def entry(n):
        kids = sorted(n.children.values(), key=lambda c: _order(c.name))
        name = (n.name + "\0").encode("utf-16-le")
        right = NOSTREAM
        parent = next((p for p in nodes if n in p.children.values()), None)
        if parent is not None:
            siblings = sorted(parent.children.values(), key=lambda c: _order(c.name))
            i = siblings.index(n)
            if i + 1 < len(siblings):
                right = siblings[i + 1].id
        child = kids[0].id if kids else NOSTREAM
        return (name.ljust(64, b"\0") + struct.pack("<HBB", len(name), n.kind, 1)
                + struct.pack("<III", NOSTREAM, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", n.start, n.size))

    directory = b"".join(entry(n) for n in nodes)
    directory += (b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
                  + b"\0" * 52) * (-len(nodes) % (SECTOR // 128))
    dir_start = place(directory)

    # The FAT covers every sector, its own included.
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (SECTOR // 4):
        fat_count += 1
    fat_start = len(sectors)
    fat += [FATSECT] * fat_count
    fat += [FREE] * (fat_count * (SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    for i in range(fat_count):
        sectors.append(fat_bytes[i * SECTOR:(i + 1) * SECTOR])
    assert fat_count <= 109, "sample too large for a header-only DIFAT"

    difat = [fat_start + i for i in range(fat_count)] + [FREE] * (109 - fat_count)
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, CUTOFF,
                                        minifat_start, -(-len(minifat_bytes) // SECTOR) if minifat else 0,
                                        END, 0)
              + b"".join(struct.pack("<I", x) for x in difat))
    assert len(header) == SECTOR
    return header + b"".join(sectors)


# Outlook messages (MS-OXMSG): properties as streams named by id and type.
def _props(header, fixed):
    out = b"\0" * header
    for ty, pid, value in fixed:
        out += struct.pack("<HHIQ", ty, pid, 6, value)
    return out


def _utf16(s):
    return s.encode("utf-16-le")


def msg_of(subject, body, attachments, sender=("田中 太郎", "tanaka@example.lg.jp"), html=None, prefix=""):
    """An Outlook message. attachments: (name, data, method) with method 1
    (a file), 5 (an enclosed message: data is another msg_of's streams) or
    6 (an OLE object)."""
    s = {
        prefix + "__properties_version1.0": _props(24 if prefix else 32, [(0x0003, 0x3FFD, 65001)]),
        prefix + "__substg1.0_0037001F": _utf16(subject),
        prefix + "__substg1.0_1000001F": _utf16(body),
        prefix + "__substg1.0_0C1A001F": _utf16(sender[0]),
        prefix + "__substg1.0_5D01001F": _utf16(sender[1]),
    }
    if html is not None:
        s[prefix + "__substg1.0_10130102"] = html
    r = prefix + "__recip_version1.0_#00000000/"
    s[r + "__properties_version1.0"] = _props(8, [(0x0003, 0x0C15, 1)])
    s[r + "__substg1.0_3001001F"] = _utf16("鈴木 花子")
    s[r + "__substg1.0_39FE001F"] = _utf16("suzuki@city.example.lg.jp")
    for i, (name, data, method) in enumerate(attachments):
        a = f"{prefix}__attach_version1.0_#{i:08X}/"
        s[a + "__properties_version1.0"] = _props(8, [(0x0003, 0x3705, method)])
        s[a + "__substg1.0_3707001F"] = _utf16(name)
        if method == 5:
            s.update(data(a + "__substg1.0_3701000D/"))
        elif method == 6:
            s[a + "__substg1.0_3701000D/\x01Ole10Native"] = data
        else:
            s[a + "__substg1.0_37010102"] = data
    return s
