import { describe, expect, it } from 'vitest';
import { dateFromName, dateFromTag, detectSeries, imageDate, summarizeSeries } from './series';

describe('dates of images', () => {
  it('reads YYYY-MM-DD, YYYY_MM_DD and YYYYMMDD with an optional hour', () => {
    expect(dateFromName('/a/farm/2021-06-15.tif')).toMatchObject({ year: 2021, month: 6, day: 15, hour: 0 });
    expect(dateFromName('/a/farm/img_2019_12_31.png')).toMatchObject({ year: 2019, month: 12, day: 31 });
    expect(dateFromName('S2A_MSIL2A_20200512T103031_N0214.tif')).toMatchObject({
      year: 2020,
      month: 5,
      day: 12,
      hour: 10,
      source: 'name',
    });
  });

  it('says why a name has no date, and refuses days that are not on the calendar', () => {
    expect(dateFromName('/a/farm/scene.tif')).toEqual({ reason: expect.stringContaining('no date in the file name') });
    expect(dateFromName('/a/2021-02-30.tif')).toEqual({ reason: expect.stringContaining('not a calendar date') });
    // Digits inside a longer number are no date.
    expect(dateFromName('/a/id_1234567890123.tif')).toHaveProperty('reason');
  });

  it('falls back to the TIFF DateTime tag, and names a tag that does not read', () => {
    expect(dateFromTag('2018:03:04 13:45:00')).toMatchObject({ year: 2018, month: 3, day: 4, hour: 13, source: 'tag' });
    expect(imageDate({ path: '/a/scene.tif', dateTime: '2018:03:04 13:45:00' })).toMatchObject({ source: 'tag' });
    expect(imageDate({ path: '/a/scene.tif', dateTime: 'yesterday' })).toEqual({
      reason: expect.stringContaining('DateTime tag "yesterday" is not YYYY:MM:DD'),
    });
    expect(imageDate({ path: '/a/scene.tif' })).toEqual({ reason: expect.stringContaining('no DateTime tag') });
  });
});

describe('detectSeries', () => {
  const images = [
    { id: 1, path: '/data/places/farm/2021-08-01.tif' },
    { id: 2, path: '/data/places/farm/2021-06-01.tif' },
    { id: 3, path: '/data/places/farm/2020-06-01.tif' },
    { id: 4, path: '/data/places/lake/a.tif', dateTime: '2019:01:02 10:00:00' },
    { id: 5, path: '/data/places/lake/b.tif', dateTime: '2019:05:02 10:00:00' },
    { id: 6, path: '/data/places/lake/notes.png' },
    { id: 7, path: '/data/places/town/2020-01-01.tif' },
  ];

  it('groups dated images by folder, oldest first, and says why each other image is left out', () => {
    const { places, left } = detectSeries(images);
    expect(places.map((place) => place.name)).toEqual(['farm', 'lake']);
    expect(places[0]!.images.map((image) => image.id)).toEqual([3, 2, 1]);
    expect(places[1]!.images.map((image) => image.id)).toEqual([4, 5]);
    expect(left).toEqual([
      { path: '/data/places/lake/notes.png', reason: expect.stringContaining('no date in the file name') },
      { path: '/data/places/town/2020-01-01.tif', reason: expect.stringContaining('only dated image in its folder') },
    ]);
  });

  it('summarises places, dates per place and what is left out', () => {
    const summary = summarizeSeries(detectSeries(images));
    expect(summary).toMatchObject({ places: 2, datedImages: 5, datesPerPlace: { min: 2, max: 3 }, leftCount: 2 });
    expect(summary.placeList[0]).toEqual({ name: 'farm', dates: 3, first: '2020-06-01', last: '2021-08-01' });
    expect(summary.placeList[1]).toMatchObject({ first: '2019-01-02 10h' });
  });

  it('finds no places in a flat folder of undated images', () => {
    const summary = summarizeSeries(detectSeries([{ id: 1, path: '/x/a.png' }]));
    expect(summary).toMatchObject({ places: 0, datesPerPlace: null, leftCount: 1 });
  });
});
