// Outlier channels (issue 11 item 3). One per-tensor activation scale is set by the largest
// channel; a channel whose range is R times smaller gets about 255/R of the uint8 levels. When the
// channels of a tensor have ranges orders of magnitude apart (a planted or learned outlier
// channel, a transformer's massive activation dimension), most channels are left a handful of
// levels and the layer that reads them is mostly rounding noise. Such a tensor keeps float: no
// Q/DQ on it (nor on its range group), and the nodes that read it run in float too, weights
// included: the reader's weights on the outlier channel are usually as small as the channel is
// large, so per-output-channel weight scales would round them away just as badly.
//
// The measure: the largest channel abs-max over the MEDIAN abs-max of the channels that are not
// all zero (dead channels cost nothing: 0 is exact). The median, not the mean or the smallest,
// asks whether the typical channel is crushed, and one or two quiet channels do not trigger it.
//
// The threshold (config outlierRatio, default 64; docs/outlier-channels.md has the measurements,
// scripts/outlier-ratios.mjs makes them): at 64× the median channel keeps ~4 of 255 levels. The
// fixtures' activations spread at most 1.9× on the MNIST calibration data; PP-OCRv4 det/rec/cls at
// most 16.6×, 39.5× and 8.5×, and keeping those float was 0.4-0.7 dB worse. 64 is above all of
// them; a channel planted 1000× (689× spread) or 100× (69×) larger in resnet_mini is caught.
//
// Per-axis activation Q/DQ is the other remedy, but onnxruntime's integer kernels take one scale
// per activation. Measured (onnxruntime-node 1.30, resnet_mini's QDQ model with the Q/DQ pair
// between layer3's convs made per-axis): onnxruntime still fuses the producing conv into
// QLinearConv at load and then refuses to run it ("result zero point must be a scalar"). Float
// is the form that runs.
import type { Graph } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import type { Analysis } from './analyze.js';
import { inputChannelAxisOf } from './rules/index.js';
import { dropActivations, type Planned } from './plan.js';
import { note, reason, type Note, type Reason } from './reasons.js';

/** Per-channel abs-max of one tensor, as calibration keeps it. */
export interface ChannelStats {
  readonly axis: number;
  readonly absMax: readonly number[];
}

export interface ChannelSpread {
  /** max / median of the channels that are not all zero. */
  ratio: number;
  /** The channel with the largest abs-max, and that abs-max. */
  channel: number;
  max: number;
  median: number;
}

/** What the plan records about a tensor kept in float for its outlier channels. */
export interface OutlierRecord {
  code: 'outlier-channels';
  message: string;
  axis: number;
  channel: number;
  ratio: number;
  /** The nodes that read it, kept in float with it. */
  consumers: string[];
}

/** How far apart the channel ranges are; undefined with fewer than two channels that are not all zero. */
export function channelSpread(absMax: readonly number[]): ChannelSpread | undefined {
  const live = absMax.filter((v) => v > 0).sort((a, b) => a - b);
  if (live.length < 2) return undefined;
  const mid = live.length >> 1;
  const median = live.length % 2 ? live[mid]! : (live[mid - 1]! + live[mid]!) / 2;
  let channel = 0;
  absMax.forEach((v, k) => {
    if (v > absMax[channel]!) channel = k;
  });
  const max = absMax[channel]!;
  return { ratio: max / median, channel, max, median };
}

/** Is this spread over the threshold (0: the check is off)? */
export function isOutlierSpread(spread: ChannelSpread | undefined, threshold: number): spread is ChannelSpread {
  return !!spread && threshold > 0 && spread.ratio >= threshold;
}

/** Quantized nodes of the main graph reading `t` as a quantized activation. */
function readers(g: Graph, a: Analysis, t: string): { name: string; axis: number | undefined; input: number }[] {
  return g.consumersOf(t).flatMap((n) => {
    const d = a.decisions.get(n);
    if (d?.status !== 'quantized' || !d.rule) return [];
    const input = n.inputs.findIndex((x, i) => x === t && d.rule!.inputs[i]?.kind === 'activation');
    return input < 0 ? [] : [{ name: n.name, axis: input === 0 ? inputChannelAxisOf(n) : undefined, input }];
  });
}

/**
 * The tensors calibration keeps a per-channel abs-max for, with their channel axis (negative:
 * from the end): the calibrated activations of the main graph that a quantized reader with a
 * channel fact (its rule's inputChannelAxis) reads as its input 0. None when the check is off.
 */
export function channelAxesFor(g: Graph, a: Analysis, config: Readonly<QuantConfig>): Map<string, number> {
  const out = new Map<string, number>();
  if (!(config.outlierRatio > 0) || config.mode !== 'static') return out;
  for (const t of a.activations) {
    if (a.fixed.has(t)) continue;
    const axis = readers(g, a, t).find((r) => r.axis !== undefined)?.axis;
    if (axis !== undefined) out.set(t, axis);
  }
  return out;
}

/**
 * The calibrated activations whose channel ranges are `config.outlierRatio` or more apart, with
 * the nodes that read them. Tensors without per-channel statistics (older stats files) are not
 * checked.
 */
export function findOutliers(g: Graph, a: Analysis, config: Readonly<QuantConfig>, channels: ReadonlyMap<string, ChannelStats>): Map<string, OutlierRecord> {
  const out = new Map<string, OutlierRecord>();
  for (const t of a.activations) {
    const c = channels.get(t);
    const spread = c && channelSpread(c.absMax);
    if (!c || !isOutlierSpread(spread, config.outlierRatio)) continue;
    const consumers = readers(g, a, t).map((r) => r.name);
    const message = `channel ${spread.channel} (axis ${c.axis}) reaches ${spread.max.toPrecision(3)}, ${ratioText(spread.ratio)} the median channel's ${spread.median.toPrecision(3)} (threshold ${config.outlierRatio}×, --outlier-ratio): one per-tensor scale would leave most channels a few levels, so it stays float${consumers.length ? `, and ${consumers.join(', ')} with it` : ''}`;
    out.set(t, { code: 'outlier-channels', message, axis: c.axis, channel: spread.channel, ratio: spread.ratio, consumers });
  }
  return out;
}

const ratioText = (r: number) => `${r >= 100 ? r.toFixed(0) : r.toPrecision(3)}×`;

/** The reason each reader of an outlier tensor stays float. */
export function outlierFloatNodes(outliers: ReadonlyMap<string, OutlierRecord>): Map<string, Reason> {
  const out = new Map<string, Reason>();
  for (const [t, o] of outliers) {
    for (const n of o.consumers) {
      if (!out.has(n)) out.set(n, reason('outlier-channels', `reads '${t}', whose channel ranges are ${ratioText(o.ratio)} apart: kept in float with it (per-tensor activation scales would crush its other channels)`));
    }
  }
  return out;
}

/** One note per outlier tensor, naming it and the ratio. */
export function outlierNotes(outliers: ReadonlyMap<string, OutlierRecord>): Note[] {
  return [...outliers].map(([t, o]) => note('outlier-channels', `outlier channels: '${t}': ${o.message}`));
}

/**
 * The plan with the outlier tensors (and their range groups) left without Q/DQ, and recorded; an
 * empty record when none fired, so that the plan given back as --overrides decides alone.
 */
export function withOutliers(planned: Planned, outliers: ReadonlyMap<string, OutlierRecord>): Planned {
  const out = dropActivations(planned, [...outliers.keys()]);
  return { ...out, plan: { ...out.plan, outlierChannels: Object.fromEntries(outliers) } };
}
