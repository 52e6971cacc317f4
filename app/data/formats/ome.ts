/**
 * OME-XML (the ImageDescription of an OME-TIFF's first page): channel names, plane sizes and the
 * order the planes are stored in, so that each (z, t) becomes one sample with all its channels.
 */
import { XMLParser } from 'fast-xml-parser';

/** What an OME-TIFF says about its planes. */
export interface OmeLayout {
  sizeC: number;
  sizeZ: number;
  sizeT: number;
  /** XYCZT, XYZCT, ...: the first of C, Z, T varies fastest from page to page. */
  dimensionOrder: string;
  channelNames: (string | null)[];
}

const ORDERS = new Set(['XYCZT', 'XYCTZ', 'XYZCT', 'XYZTC', 'XYTCZ', 'XYTZC']);

/** The OME layout of an ImageDescription, null when it is not OME-XML; throws on broken OME. */
export function parseOmeXml(description: string | undefined): OmeLayout | null {
  if (!description || !/<OME[\s>]/.test(description)) return null;
  let document: Record<string, unknown>;
  try {
    document = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true }).parse(
      description,
    );
  } catch (error) {
    throw new Error(`its OME-XML cannot be parsed (${(error as Error).message})`);
  }
  const ome = document.OME as Record<string, unknown> | undefined;
  const image = first(ome?.Image) as Record<string, unknown> | undefined;
  const pixels = image?.Pixels as Record<string, unknown> | undefined;
  if (!pixels) throw new Error('its OME-XML has no <Image><Pixels> element');
  const size = (name: string): number => {
    const value = Number(pixels[name] ?? 1);
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000)
      throw new Error(`its OME-XML has an invalid ${name} '${String(pixels[name])}'`);
    return value;
  };
  const dimensionOrder = String(pixels.DimensionOrder ?? 'XYCZT');
  if (!ORDERS.has(dimensionOrder)) throw new Error(`its OME-XML has an unknown DimensionOrder '${dimensionOrder}'`);
  const channels = toArray(pixels.Channel) as Record<string, unknown>[];
  const sizeC = size('SizeC');
  const channelNames = Array.from({ length: sizeC }, (_, index) => {
    const name = channels[index]?.Name;
    return typeof name === 'string' || typeof name === 'number' ? String(name) : null;
  });
  return { sizeC, sizeZ: size('SizeZ'), sizeT: size('SizeT'), dimensionOrder, channelNames };
}

/** The page holding plane (c, z, t), for planes stored in DimensionOrder from page 0. */
export function omePageIndex(layout: OmeLayout, c: number, z: number, t: number): number {
  const sizes: Record<string, number> = { C: layout.sizeC, Z: layout.sizeZ, T: layout.sizeT };
  const positions: Record<string, number> = { C: c, Z: z, T: t };
  let index = 0;
  let stride = 1;
  for (const dimension of layout.dimensionOrder.slice(2)) {
    index += positions[dimension]! * stride;
    stride *= sizes[dimension]!;
  }
  return index;
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function toArray(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
