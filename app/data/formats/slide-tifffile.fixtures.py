"""
Whole-slide TIFFs written by tifffile (tiles encoded by Pillow where tifffile has no codec here)
for slide-tifffile.test.ts: pyramids in SubIFDs and in reduced-resolution pages, an Aperio SVS
with JPEGTables and abbreviated RGB tiles, YCbCr JPEG tiles, JPEG 2000 tiles (Aperio 33003 and
33005; 33003 with 4:2:0 and 4:1:1 chroma where opj_compress is installed). Writes them into the
folder given, with manifest.json: per file its levels, µm per pixel, whether the tiles are lossy,
each level's pixels as written (float64) before compression, and how stained each level-0 pixel is
(0 glass to 1 tissue).
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tifffile
from PIL import Image

out = sys.argv[1]
# tifffile asks for an encoder even when given tiles already encoded; it is never called for them.
for code in (7, 33003, 33005):
    tifffile.TIFF.COMPRESSORS._codecs.setdefault(code, lambda *args, **kwargs: None)
os.makedirs(out, exist_ok=True)
manifest = []
TILE = 128


def tissue(width, height, bands=3):
    """Smooth pink tissue on bright glass: low frequencies only, so JPEG keeps it close."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    blob = np.exp(-(((x - width * 0.4) / (width * 0.25)) ** 2 + ((y - height * 0.5) / (height * 0.3)) ** 2))
    blob += 0.6 * np.exp(-(((x - width * 0.8) / (width * 0.1)) ** 2 + ((y - height * 0.3) / (height * 0.15)) ** 2))
    blob = np.clip(blob, 0, 1)
    glass = np.array([242.0, 240.0, 244.0])
    stain = np.array([200.0, 90.0, 160.0])
    rgb = glass * (1 - blob[..., None]) + stain * blob[..., None]
    rgb[..., 1] += 10 * np.sin(x / 23.0)
    image = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    np.ascontiguousarray(blob, dtype='<f8').tofile(os.path.join(out, f'stain-{width}x{height}.f64'))
    return image if bands == 3 else np.round(image.mean(axis=2)).astype(np.uint8)


def pyramid(base, count):
    levels = [base]
    for _ in range(count - 1):
        last = levels[-1].astype(np.float64)
        h, w = last.shape[0] // 2, last.shape[1] // 2
        halves = last[: h * 2, : w * 2].reshape(h, 2, w, 2, *last.shape[2:]).mean(axis=(1, 3))
        levels.append(np.round(halves).astype(np.uint8))
    return levels


def tiles_of(level):
    h, w = level.shape[:2]
    for top in range(0, h, TILE):
        for left in range(0, w, TILE):
            tile = np.zeros((TILE, TILE) + level.shape[2:], np.uint8)
            part = level[top : top + TILE, left : left + TILE]
            tile[: part.shape[0], : part.shape[1]] = part
            yield tile


def jpeg(tile, mode):
    """A JPEG of one tile: 'ycbcr' as Pillow writes RGB, 'rgb' the R, G, B values stored unconverted."""
    buffer = io.BytesIO()
    if mode == 'rgb':
        Image.fromarray(tile, 'RGB').convert('RGB').save(buffer, 'JPEG', quality=95, subsampling=0)
        raw = io.BytesIO()
        # Stored as if YCbCr: Pillow then writes the values as they are, with no colour transform.
        Image.frombytes('YCbCr', (TILE, TILE), tile.tobytes()).save(raw, 'JPEG', quality=95, subsampling=0)
        return strip_app_markers(raw.getvalue())
    Image.fromarray(tile, 'L' if mode == 'grey' else 'RGB').save(buffer, 'JPEG', quality=95)
    return buffer.getvalue()


def strip_app_markers(data):
    """Drops APP0..APP15 (JFIF, Adobe) as libtiff does: the TIFF's Photometric says the colours."""
    out, at = bytearray(data[:2]), 2
    while at < len(data) and data[at] == 0xFF and data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2 : at + 4], 'big')
        if not 0xE0 <= data[at + 1] <= 0xEF:
            out += data[at : at + 2 + length]
        at += 2 + length
    return bytes(out + data[at:])


def split_tables(streams):
    """JPEGTables (SOI, DQT, DHT, EOI) and the tiles without them (abbreviated streams)."""
    tables, tiles = None, []
    for data in streams:
        kept, shared, at = bytearray(data[:2]), bytearray(b'\xff\xd8'), 2
        while data[at + 1] != 0xDA:
            length = int.from_bytes(data[at + 2 : at + 4], 'big')
            (shared if data[at + 1] in (0xDB, 0xC4) else kept).extend(data[at : at + 2 + length])
            at += 2 + length
        kept += data[at:]
        shared += b'\xff\xd9'
        assert tables is None or tables == bytes(shared), 'tiles do not share their tables'
        tables = bytes(shared)
        tiles.append(bytes(kept))
    return tables, tiles


def j2k(tile, ycbcr):
    buffer = io.BytesIO()
    image = Image.fromarray(tile, 'RGB')
    if ycbcr:
        image = Image.frombytes('RGB', image.size, image.convert('YCbCr').tobytes())
    image.save(buffer, 'JPEG2000', no_jp2=True, irreversible=False, mct=0 if ycbcr else 1, quality_mode='rates')
    return buffer.getvalue()


def record(name, levels, mpp, lossy, vendor, **extra):
    saved = []
    for index, level in enumerate(levels):
        raw = f'{name}.level{index}.f64'
        np.ascontiguousarray(level, dtype='<f8').tofile(os.path.join(out, raw))
        saved.append({'width': level.shape[1], 'height': level.shape[0], 'raw': raw})
    bands = 1 if levels[0].ndim == 2 else levels[0].shape[2]
    manifest.append({'file': name, 'kind': 'slide', 'levels': saved, 'mpp': mpp, 'lossy': lossy, 'bands': bands,
                     'vendor': vendor, 'samples': [], 'stain': f'stain-{levels[0].shape[1]}x{levels[0].shape[0]}.f64',
                     **extra})


def encoded(level, encode):
    return [encode(tile) for tile in tiles_of(level)]


RESOLUTION_CM = lambda mpp: dict(resolution=(1e4 / mpp, 1e4 / mpp), resolutionunit='CENTIMETER')

# A: generic pyramid in SubIFDs, RGB, uncompressed, mpp from the resolution tags (centimetre).
levels = pyramid(tissue(1000, 700), 3)
with tifffile.TiffWriter(os.path.join(out, 'subifds-raw.tif')) as tif:
    tif.write(levels[0], tile=(TILE, TILE), subifds=2, **RESOLUTION_CM(0.25))
    for level in levels[1:]:
        tif.write(level, tile=(TILE, TILE), subfiletype=1)
record('subifds-raw.tif', levels, 0.25, False, 'generic')

# B: generic pyramid in reduced-resolution pages, grey, uncompressed, mpp from inches.
levels = pyramid(tissue(900, 600, bands=1), 3)
with tifffile.TiffWriter(os.path.join(out, 'pages-grey.tif'), bigtiff=True) as tif:
    tif.write(levels[0], tile=(TILE, TILE), resolution=(25400 / 0.5, 25400 / 0.5), resolutionunit='INCH')
    for level in levels[1:]:
        tif.write(level, tile=(TILE, TILE), subfiletype=1)
record('pages-grey.tif', levels, 0.5, False, 'generic')

# C: generic BigTIFF pyramid in SubIFDs with YCbCr JPEG tiles (full streams, no JPEGTables).
levels = pyramid(tissue(1000, 700), 3)
with tifffile.TiffWriter(os.path.join(out, 'subifds-ycbcr-jpeg.tif'), bigtiff=True) as tif:
    for index, level in enumerate(levels):
        tif.write(
            iter(encoded(level, lambda tile: jpeg(tile, 'ycbcr'))), shape=level.shape, dtype='uint8',
            tile=(TILE, TILE), compression='jpeg', photometric='ycbcr', subsampling=(2, 2),
            **(dict(subifds=2, **RESOLUTION_CM(0.5)) if index == 0 else dict(subfiletype=1)),
        )
record('subifds-ycbcr-jpeg.tif', levels, 0.5, True, 'generic')

# C2: odd-sized grey pyramid (1001 × 701 → 500 × 350 → 250 × 175) with grey JPEG tiles.
levels = pyramid(tissue(1001, 701, bands=1), 3)
with tifffile.TiffWriter(os.path.join(out, 'subifds-grey-jpeg.tif')) as tif:
    for index, level in enumerate(levels):
        tif.write(
            iter(encoded(level, lambda tile: jpeg(tile, 'grey'))), shape=level.shape, dtype='uint8',
            tile=(TILE, TILE), compression='jpeg', photometric='minisblack',
            **(dict(subifds=2) if index == 0 else dict(subfiletype=1)),
        )
record('subifds-grey-jpeg.tif', levels, None, True, 'generic')

# C3: an OME-TIFF pyramid in SubIFDs: µm per pixel only in the OME-XML (PhysicalSizeX).
levels = pyramid(tissue(1000, 700), 3)
with tifffile.TiffWriter(os.path.join(out, 'ome-pyramid.ome.tif')) as tif:
    size = {'PhysicalSizeX': 0.25, 'PhysicalSizeXUnit': 'µm', 'PhysicalSizeY': 0.25, 'PhysicalSizeYUnit': 'µm'}
    tif.write(levels[0], tile=(TILE, TILE), subifds=2, photometric='rgb', metadata={'axes': 'YXS', **size})
    for level in levels[1:]:
        tif.write(level, tile=(TILE, TILE), subfiletype=1, photometric='rgb')
record('ome-pyramid.ome.tif', levels, 0.25, False, 'generic')


def svs(name, levels, encode, compression, photometric, tables):
    description = (f'Aperio Image Library v12.0.15 \r\n{levels[0].shape[1]}x{levels[0].shape[0]} [0,0 '
                   f'{levels[0].shape[1]}x{levels[0].shape[0]}] ({TILE}x{TILE}) JPEG/RGB Q=95|AppMag = 20|'
                   'MPP = 0.4990|Filename = audit')
    thumbnail = levels[-1][::2, ::2]
    with tifffile.TiffWriter(os.path.join(out, name)) as tif:
        for index, level in enumerate(levels):
            streams = encoded(level, encode)
            shared = None
            if tables:
                shared, streams = split_tables(streams)
            tif.write(
                iter(streams), shape=level.shape, dtype='uint8', tile=(TILE, TILE), compression=compression,
                photometric=photometric, jpegtables=shared, subsampling=(1, 1) if photometric == 'rgb' else (2, 2),
                compressionargs={'outcolorspace': photometric.upper()},
                description=description if index == 0 else None, metadata=None,
            )
            if index == 0:  # Aperio puts the stripped thumbnail second
                tif.write(thumbnail, photometric='rgb', metadata=None, description='Aperio thumbnail')
        tif.write(tissue(300, 100), subfiletype=1, metadata=None, description='Aperio label')
        tif.write(tissue(400, 150), subfiletype=9, metadata=None, description='Aperio macro')
    record(name, levels, 0.499, True, 'aperio', magnification=20)


# D: Aperio SVS: JPEGTables and abbreviated tiles of unconverted R, G, B (as libtiff writes them).
levels = pyramid(tissue(1000, 700), 3)
svs('aperio-jpeg-rgb.svs', levels, lambda tile: jpeg(tile, 'rgb'), 'jpeg', 'rgb', True)
# E: Aperio SVS with YCbCr JPEG tiles and JPEGTables.
svs('aperio-jpeg-ycbcr.svs', levels, lambda tile: strip_app_markers(jpeg(tile, 'ycbcr')), 'jpeg', 'ycbcr', True)
# F, G: Aperio JPEG 2000: 33003 (YCbCr codestream) and 33005 (RGB with the reversible transform).
svs('aperio-j2k-33003.svs', levels, lambda tile: j2k(tile, True), 33003, 'rgb', False)
svs('aperio-j2k-33005.svs', levels, lambda tile: j2k(tile, False), 33005, 'rgb', False)



def j2k_subsampled(tile, dx, dy):
    """A YCbCr JPEG 2000 codestream, chroma averaged over dx × dy blocks, by OpenJPEG's opj_compress."""
    ycc = np.asarray(Image.fromarray(tile, 'RGB').convert('YCbCr')).astype(np.float64)
    small = [ycc[..., c].reshape(TILE // dy, dy, TILE // dx, dx).mean(axis=(1, 3)) for c in (1, 2)]
    small = [np.round(plane).astype(np.uint8) for plane in small]
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, 'tile.raw'), 'wb') as f:
            f.write(ycc[..., 0].astype(np.uint8).tobytes() + small[0].tobytes() + small[1].tobytes())
        subprocess.run(['opj_compress', '-i', os.path.join(folder, 'tile.raw'), '-o', os.path.join(folder, 'tile.j2k'),
                        '-F', f'{TILE},{TILE},3,8,u@1x1:{dx}x{dy}:{dx}x{dy}', '-mct', '0'],
                       check=True, capture_output=True)
        with open(os.path.join(folder, 'tile.j2k'), 'rb') as f:
            return f.read()


# H: Aperio 33003 with 4:2:0 chroma (as real SVS files often have), where OpenJPEG's tools are
# installed: read as RGB. H2: 4:1:1 chroma, which the decoder cannot upsample: refused by name.
if shutil.which('opj_compress'):
    svs('aperio-j2k-33003-420.svs', pyramid(tissue(512, 384), 2), lambda tile: j2k_subsampled(tile, 2, 2),
        33003, 'rgb', False)
    svs('aperio-j2k-33003-411.svs', pyramid(tissue(512, 384), 2), lambda tile: j2k_subsampled(tile, 4, 1),
        33003, 'rgb', False)
    manifest[-1]['error'] = 'subsampled (component 2 by 4×1'

json.dump(manifest, open(os.path.join(out, 'manifest.json'), 'w'), indent=1)
print(len(manifest), 'files')
