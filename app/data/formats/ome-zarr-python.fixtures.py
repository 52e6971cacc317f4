"""
OME-Zarr (NGFF) images written by hand from the specifications (no zarr package needed) for
ome-zarr-python.test.ts: Zarr v2 / NGFF 0.4 with zlib, gzip or Blosc (byte shuffle, zlib) chunks,
'/' and '.' chunk keys, C and F chunk order, big-endian values, partial edge chunks, a missing
chunk (fill value);
Zarr v3 / NGFF 0.5 with bytes + gzip codecs. Writes them into the folder given with
manifest.json: per image its planes' pixels (float64, rows, columns, channels) and channel names.
"""
import gzip
import itertools
import json
import os
import sys
import zlib

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
manifest = []
NAMES = {'t': 'time', 'c': 'channel', 'z': 'space', 'y': 'space', 'x': 'space'}


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(value, f)


def chunks_of(array, chunks):
    """Every chunk's index and its values, padded to the full chunk size at the edges."""
    counts = [-(-size // chunk) for size, chunk in zip(array.shape, chunks)]
    for index in itertools.product(*(range(count) for count in counts)):
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, chunks))
        part = array[region]
        full = np.zeros(chunks, dtype=array.dtype)
        full[tuple(slice(0, s) for s in part.shape)] = part
        yield index, full


def blosc_zlib(raw, typesize):
    """A Blosc 1 frame of one byte-shuffled block compressed with zlib (compressor code 3), laid out
    as c-blosc's chunk format describes: 16-byte header, the block's start, its stream's size, data."""
    shuffled = np.frombuffer(raw, np.uint8).reshape(-1, typesize).T.tobytes()
    stream = zlib.compress(shuffled, 6)
    assert len(stream) < len(raw), 'test data should compress'
    flags = 0x01 | 0x10 | (3 << 5)  # byte shuffle, blocks not split, zlib
    total = 16 + 4 + 4 + len(stream)
    header = bytes([2, 1, flags, typesize]) + b''.join(n.to_bytes(4, 'little') for n in (len(raw), len(raw), total))
    return header + (20).to_bytes(4, 'little') + len(stream).to_bytes(4, 'little') + stream


def write_v2(folder, array, chunks, compressor, separator='/', order='C', skip=(), fill=0):
    codec = {'id': 'blosc', 'cname': 'zlib', 'clevel': 6, 'shuffle': 1, 'blocksize': 0} if compressor == 'blosc' \
        else compressor and {'id': compressor, 'level': 5}
    meta = {'zarr_format': 2, 'shape': list(array.shape), 'chunks': list(chunks), 'dtype': array.dtype.str,
            'compressor': codec, 'fill_value': fill, 'order': order,
            'filters': None, 'dimension_separator': separator}
    write_json(os.path.join(folder, '.zarray'), meta)
    for index, chunk in chunks_of(array, chunks):
        if index in skip:
            continue
        raw = chunk.tobytes(order=order)
        data = (zlib.compress(raw, 5) if compressor == 'zlib' else gzip.compress(raw) if compressor == 'gzip'
                else blosc_zlib(raw, array.dtype.itemsize) if compressor == 'blosc' else raw)
        path = os.path.join(folder, separator.join(str(i) for i in index))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)


def write_v3(folder, array, chunks):
    meta = {'zarr_format': 3, 'node_type': 'array', 'shape': list(array.shape), 'data_type': str(array.dtype),
            'chunk_grid': {'name': 'regular', 'configuration': {'chunk_shape': list(chunks)}},
            'chunk_key_encoding': {'name': 'default', 'configuration': {'separator': '/'}}, 'fill_value': 0,
            'codecs': [{'name': 'bytes', 'configuration': {'endian': 'little'}},
                       {'name': 'gzip', 'configuration': {'level': 5}}]}
    write_json(os.path.join(folder, 'zarr.json'), meta)
    for index, chunk in chunks_of(array, chunks):
        path = os.path.join(folder, 'c', *(str(i) for i in index))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(gzip.compress(chunk.astype(chunk.dtype.newbyteorder('<')).tobytes()))


def multiscales(axes, levels, labels, version):
    scales = [{'path': str(i), 'coordinateTransformations': [{'type': 'scale', 'scale': [
        2.0 ** i if a in 'yx' else 1.0 for a in axes]}]} for i in range(levels)]
    image = {'axes': [{'name': a, 'type': NAMES[a]} for a in axes], 'datasets': scales, 'name': 'audit'}
    if version == 2:
        image['version'] = '0.4'
    omero = {'channels': [{'label': label, 'color': 'FFFFFF', 'window': {'start': 0, 'end': 255, 'min': 0,
                                                                           'max': 255}} for label in labels]}
    return {'multiscales': [image], 'omero': omero}


def pyramid(array, axes, count):
    levels = [array]
    for _ in range(count - 1):
        view = levels[-1]
        index = tuple(slice(None, None, 2) if a in 'yx' else slice(None) for a in axes)
        levels.append(np.ascontiguousarray(view[index]))
    return levels


def record(name, array, axes, labels, fill_index=None, fill=0):
    """Planes as the reader gives them: (t, z) t-major, each rows × columns × channels."""
    full = array
    for axis in 'tczyx':
        if axis not in axes:
            full = np.expand_dims(full, 0)
            axes = axis + axes
    order = [axes.index(a) for a in 'tczyx']
    full = np.transpose(full, order).astype(np.float64)
    samples = []
    for t in range(full.shape[0]):
        for z in range(full.shape[2]):
            plane = np.transpose(full[t, :, z], (1, 2, 0))
            raw = f'{name}.t{t}z{z}.f64'
            np.ascontiguousarray(plane, dtype='<f8').tofile(os.path.join(out, raw))
            samples.append({'index': len(samples), 'raw': raw})
    manifest.append({'file': name, 'kind': 'ome-zarr', 'width': full.shape[4], 'height': full.shape[3],
                     'bands': full.shape[1], 'labels': labels, 'samples': samples})


def image(name, array, axes, chunks, labels, version=2, levels=2, **options):
    folder = os.path.join(out, name)
    attributes = multiscales(axes, levels, labels, version)
    if version == 2:
        write_json(os.path.join(folder, '.zgroup'), {'zarr_format': 2})
        write_json(os.path.join(folder, '.zattrs'), attributes)
    else:
        write_json(os.path.join(folder, 'zarr.json'), {'zarr_format': 3, 'node_type': 'group',
                                                       'attributes': {'ome': {'version': '0.5', **attributes}}})
    for index, level in enumerate(pyramid(array, axes, levels)):
        if version == 2:
            write_v2(os.path.join(folder, str(index)), level, chunks, **options)
        else:
            write_v3(os.path.join(folder, str(index)), level, chunks)
    record(name, array, axes, labels)


# czyx uint16, zlib, '/' keys, edge chunks (100 × 150 in 64 × 64).
data = rng.integers(0, 65535, (3, 2, 100, 150), dtype=np.uint16)
image('czyx-uint16-zlib.ome.zarr', data, 'czyx', (1, 1, 64, 64), ['DAPI', 'GFP', 'Cy5'], compressor='zlib')
# tczyx int16 big-endian, gzip, '.' keys, Fortran chunk order.
data = rng.integers(-30000, 30000, (2, 2, 3, 40, 50), dtype=np.int16).astype('>i2')
image('tczyx-int16-be-gzip-F.ome.zarr', data, 'tczyx', (1, 1, 2, 32, 32), ['ch A', 'ch B'], compressor='gzip',
      separator='.', order='F')
# yx float32, raw chunks, one chunk never written: the fill value.
data = (rng.standard_normal((70, 90)) * 100).astype(np.float32)
data[32:64, 32:64] = -7.5
image('yx-float32-raw-missing.ome.zarr', data, 'yx', (32, 32), ['intensity'], compressor=None, skip={(1, 1)},
      fill=-7.5)
# zyx uint16, Blosc (zlib inside, byte shuffle) as ome-zarr-py writes Blosc chunks; smooth values compress.
z, y, x = np.mgrid[0:3, 0:48, 0:64]
data = (1000 + 40 * z + 7 * y + 3 * x + rng.integers(0, 4, (3, 48, 64))).astype(np.uint16)
image('zyx-uint16-blosc.ome.zarr', data, 'zyx', (1, 32, 32), ['nuclei'], compressor='blosc')
# Zarr v3 / NGFF 0.5: cyx uint8, bytes + gzip.
data = rng.integers(0, 256, (2, 60, 80), dtype=np.uint8)
image('cyx-uint8-v3.ome.zarr', data, 'cyx', (1, 32, 32), ['red', 'far red'], version=3)

json.dump(manifest, open(os.path.join(out, 'manifest.json'), 'w'), indent=1)
print(len(manifest), 'images')
