"""Draw the app icons as PNG files, with no image library: `python -m app.pwa.icons`."""

import struct
import zlib
from pathlib import Path

from app.templating import STATIC_DIR

BRAND = (11, 61, 92)
WHITE = (255, 255, 255)
# A check mark, in units of the icon's side: two strokes meeting at the bottom.
STROKES = [((0.28, 0.52), (0.44, 0.68)), ((0.44, 0.68), (0.74, 0.34))]
ICONS = {"icon-192.png": (192, 1.0), "icon-512.png": (512, 1.0), "maskable-512.png": (512, 0.7)}


def _distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return float(((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5)


def draw(size: int, scale: float) -> bytes:
    """A square icon; `scale` below 1 keeps the mark inside a maskable icon's safe zone."""
    width = 0.09 * scale
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # PNG filter type: none
        for x in range(size):
            # Sample the pixel's centre, mapped into the scaled mark's coordinates.
            px = 0.5 + ((x + 0.5) / size - 0.5) / scale
            py = 0.5 + ((y + 0.5) / size - 0.5) / scale
            near = min(_distance(px, py, a, b) for a, b in STROKES) * scale
            row += bytes(WHITE if near <= width / 2 else BRAND)
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def write_icons(directory: Path = STATIC_DIR / "icons") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, scale) in ICONS.items():
        path = directory / name
        path.write_bytes(draw(size, scale))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_icons():
        print(path)
