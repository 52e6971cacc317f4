"""
NIfTI files written by nibabel for nifti-nibabel.test.ts: every datatype nibabel writes (NIfTI-1
and -2), scaled integers, 4-D, big-endian, an extension, qform / sform of different codes. Writes
them into the folder given and a manifest.json of what nibabel reads from each.
"""
import json
import os
import sys
import numpy as np
import nibabel as nib

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []

def rot_affine(zooms, angle, origin, flip=1):
    c, s = np.cos(angle), np.sin(angle)
    r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    a = np.eye(4)
    a[:3, :3] = r @ np.diag([zooms[0] * flip, zooms[1], zooms[2]])
    a[:3, 3] = origin
    return a

def values(dtype, shape):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        lo, hi = max(info.min, -2**40), min(info.max, 2**40)
        v = rng.integers(lo, hi, size=shape, dtype=np.int64 if info.min < 0 or hi < 2**62 else np.uint64)
        v.flat[0] = lo
        v.flat[1] = hi
        return v.astype(dtype)
    return (rng.standard_normal(shape) * 1000).astype(dtype)

def record(path, extra=None):
    img = nib.load(path)
    hdr = img.header
    data = np.asanyarray(img.dataobj)
    if data.dtype.names:  # RGB24 / RGBA32
        data = np.stack([data[n] for n in data.dtype.names], axis=-1).astype(np.float64)
    else:
        data = np.asarray(img.get_fdata(dtype=np.float64))
    if data.ndim == 2 or (data.ndim == 3 and hdr['dim'][0] == 2):
        data = data.reshape(data.shape[:2] + (1,) + data.shape[2:])
    names = hdr.get_data_dtype().names
    rgb = names is not None
    if not rgb and data.ndim == 3:
        data = data[..., None]
    if rgb and data.ndim == 4:
        data = data[..., None, :]
    # data: i, j, k, t[, band]
    ni, nj, nk, nt = data.shape[:4]
    samples = []
    for t in range(nt):
        for k in range(nk):
            sl = data[:, ::-1, k, t]  # i, j(reversed)[, band]
            sl = np.swapaxes(sl, 0, 1)  # rows (high j first), columns i
            index = t * nk + k
            raw = f'{os.path.basename(path)}.{index}.f64'
            np.ascontiguousarray(sl, dtype='<f8').tofile(os.path.join(out, raw))
            samples.append({'index': index, 'raw': raw})
    sform, scode = hdr.get_sform(coded=True)
    qform, qcode = hdr.get_qform(coded=True)
    transform = 'sform' if scode else 'qform' if qcode else 'none'
    affine = img.affine
    manifest.append({
        'file': os.path.basename(path), 'kind': 'nifti', 'width': ni, 'height': nj, 'slices': nk, 'volumes': nt,
        'bands': len(names) if rgb else 1, 'spacing': [float(abs(z)) or 1.0 for z in hdr['pixdim'][1:4]],
        'affine': affine.tolist(), 'orientation': ''.join(nib.aff2axcodes(affine)), 'transform': transform,
        'dtype': str(hdr.get_data_dtype()),
        'samples': samples, **(extra or {}),
    })

SHAPE = (7, 5, 3)
qaff = rot_affine((0.7, 0.8, 3.0), 0.3, (-10, 20, 30))
saff = rot_affine((0.7, 0.8, 3.0), -0.2, (5, -6, 7), flip=-1)
dtypes = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64']
for version, cls in (('n1', nib.Nifti1Image), ('n2', nib.Nifti2Image)):
    for dt in dtypes:
        data = values(np.dtype(dt), SHAPE)
        img = cls(data, None, dtype=dt)
        img.header.set_zooms((0.7, 0.8, 3.0))
        img.header.set_xyzt_units('mm', 'sec')
        img.set_qform(qaff, code=1)
        img.set_sform(saff, code=2)
        path = os.path.join(out, f'{version}-{dt}.nii')
        img.to_filename(path)
        record(path)
    rgb = np.zeros(SHAPE, dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1')])
    for n in 'RGB':
        rgb[n] = rng.integers(0, 256, SHAPE)
    img = cls(rgb, saff)
    path = os.path.join(out, f'{version}-rgb24.nii')
    img.to_filename(path)
    record(path)
# RGBA32
rgba = np.zeros(SHAPE, dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1'), ('A', 'u1')])
for n in 'RGBA':
    rgba[n] = rng.integers(0, 256, SHAPE)
nib.Nifti1Image(rgba, saff).to_filename(os.path.join(out, 'n1-rgba32.nii'))
record(os.path.join(out, 'n1-rgba32.nii'))
# NIfTI-2 with only a qform (a left-handed rotation: qfac -1)
img = nib.Nifti2Image(values(np.dtype('int16'), SHAPE), None, dtype='int16')
img.header.set_zooms((0.7, 0.8, 3.0))
img.set_qform(rot_affine((0.7, 0.8, 3.0), 0.5, (1, 2, 3), flip=-1), code=1)
img.set_sform(None, code=0)
img.to_filename(os.path.join(out, 'n2-qform-only.nii.gz'))
record(os.path.join(out, 'n2-qform-only.nii.gz'))
# scaled integers (nibabel picks slope/inter to fit float data into the type)
for dt in ('int16', 'uint8'):
    data = rng.standard_normal(SHAPE) * 300 + 40
    img = nib.Nifti1Image(data, saff)
    img.header.set_data_dtype(dt)
    path = os.path.join(out, f'n1-scaled-{dt}.nii')
    img.to_filename(path)
    record(path)
# explicit slope/inter on int16 through a proxy header
data = values(np.dtype('int16'), SHAPE)
hdr = nib.Nifti1Header()
hdr.set_data_dtype('int16')
hdr.set_data_shape(SHAPE)
hdr.set_slope_inter(0.5, -10)
with open(os.path.join(out, 'n1-slope.nii'), 'wb') as f:
    hdr['vox_offset'] = 352
    hdr.set_sform(saff, 1)
    hdr.write_to(f)
    f.write(b'\0' * 4)
    f.write(data.astype('<i2').tobytes(order='F'))
record(os.path.join(out, 'n1-slope.nii'))
# 4-D
data = values(np.dtype('int16'), (6, 5, 4, 3))
img = nib.Nifti1Image(data, saff)
img.header.set_data_dtype('int16')
img.to_filename(os.path.join(out, 'n1-4d.nii.gz'))
record(os.path.join(out, 'n1-4d.nii.gz'))
img = nib.Nifti2Image(data, saff)
img.to_filename(os.path.join(out, 'n2-4d.nii.gz'))
record(os.path.join(out, 'n2-4d.nii.gz'))
# qform only, negative qfac (left-handed), code 1
for name, q, s in (('qform-only', 1, 0), ('qform-wins-unset-sform', 2, 0), ('sform-scanner', 0, 1)):
    data = values(np.dtype('int16'), SHAPE)
    img = nib.Nifti1Image(data, None)
    img.header.set_zooms((0.7, 0.8, 3.0))
    img.set_qform(rot_affine((0.7, 0.8, 3.0), 0.5, (1, 2, 3), flip=-1), code=q)
    img.set_sform(rot_affine((0.7, 0.8, 3.0), 1.2, (4, 5, 6)), code=s)
    path = os.path.join(out, f'n1-{name}.nii')
    img.to_filename(path)
    record(path)
# no transform at all
data = values(np.dtype('int16'), SHAPE)
img = nib.Nifti1Image(data, None)
img.header.set_zooms((0.7, 0.8, 3.0))
img.set_qform(None, code=0)
img.set_sform(None, code=0)
img.to_filename(os.path.join(out, 'n1-no-transform.nii'))
record(os.path.join(out, 'n1-no-transform.nii'))
# big-endian
data = values(np.dtype('int16'), SHAPE)
hdr = nib.Nifti1Header(endianness='>')
img = nib.Nifti1Image(data.astype('>i2'), saff, header=hdr)
img.to_filename(os.path.join(out, 'n1-big-endian.nii'))
record(os.path.join(out, 'n1-big-endian.nii'))
data = values(np.dtype('float32'), SHAPE)
img = nib.Nifti2Image(data.astype('>f4'), saff, header=nib.Nifti2Header(endianness='>'))
img.to_filename(os.path.join(out, 'n2-big-endian.nii'))
record(os.path.join(out, 'n2-big-endian.nii'))
# an extension moves vox_offset
data = values(np.dtype('uint16'), SHAPE)
img = nib.Nifti1Image(data, saff)
img.header.extensions.append(nib.nifti1.Nifti1Extension('comment', b'written by nibabel for the audit' * 5))
img.to_filename(os.path.join(out, 'n1-extension.nii'))
record(os.path.join(out, 'n1-extension.nii'))
# 2-D image
data = values(np.dtype('float32'), (9, 4))
img = nib.Nifti1Image(data, saff)
img.to_filename(os.path.join(out, 'n1-2d.nii'))
record(os.path.join(out, 'n1-2d.nii'))
# scaled float32 (slope on a float type)
data = values(np.dtype('float32'), SHAPE)
hdr = nib.Nifti1Header()
hdr.set_data_dtype('float32')
hdr.set_data_shape(SHAPE)
hdr.set_slope_inter(2.0, 1.5)
hdr['vox_offset'] = 352
hdr.set_sform(saff, 1)
with open(os.path.join(out, 'n1-scaled-float.nii'), 'wb') as f:
    hdr.write_to(f)
    f.write(b'\0' * 4)
    f.write(data.astype('<f4').tobytes(order='F'))
record(os.path.join(out, 'n1-scaled-float.nii'))
json.dump(manifest, open(os.path.join(out, 'manifest.json'), 'w'), indent=1)
print(len(manifest), 'files')
