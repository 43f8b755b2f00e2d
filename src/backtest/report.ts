/**
 * Backtest output: a terminal summary, JSON (raw units as decimal strings) and a self-contained HTML
 * report whose charts are inline SVG (no network needed to open it).
 */
import { writeFileSync } from 'node:fs'
import { getAddress } from 'viem'
import { formatUnitsFixed, renderTable } from '../format.js'
import type { BacktestReport } from './replay.js'

export function reportJson(report: BacktestReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)
}

export function summarize(report: BacktestReport) {
  const detected = report.liquidations.filter((l) => l.detected)
  const untaken = report.episodes.filter((e) => !e.takenBy)
  const leads = detected.map((l) => l.leadBlocks ?? 0)
  const misses: Record<string, number> = {}
  for (const l of report.liquidations) if (l.miss) misses[l.miss] = (misses[l.miss] ?? 0) + 1
  const forked = report.episodes.filter((e) => e.fork)
  return {
    liquidations: report.liquidations.length,
    detected: detected.length,
    averageLeadBlocks: leads.length ? leads.reduce((a, b) => a + b, 0) / leads.length : 0,
    misses,
    opportunities: report.episodes.length,
    untaken: untaken.length,
    expectedProfitBase: report.episodes.reduce((sum, e) => sum + e.firstNetBase, 0n),
    forkExecuted: forked.length,
    forkSucceeded: forked.filter((e) => e.fork?.success).length,
    forkAgreed: forked.filter((e) => e.fork?.agreesWithMirror).length,
    forkProfitBase: forked.reduce((sum, e) => sum + (e.fork?.profitBase ?? 0n), 0n),
  }
}

export function renderSummary(report: BacktestReport): string {
  const s = summarize(report)
  const lines = [
    `backtest blocks ${report.fromBlock + 1n}..${report.toBlock} (${report.blocks} blocks, chain ${report.chainId})`,
    renderTable(
      ['block', 'liquidator', 'account', 'liquidation', 'undertow'],
      report.liquidations.map((l) => [
        String(l.block),
        getAddress(l.liquidator),
        getAddress(l.user),
        l.summary,
        l.detected
          ? `detected, lead ${l.leadBlocks} blocks, net ${formatUnitsFixed(l.expectedNetBase ?? 0n, report.baseDecimals)}`
          : `missed: ${l.miss}`,
      ]),
    ),
    `real liquidations: ${s.liquidations}, detected by Undertow: ${s.detected} (average lead ${s.averageLeadBlocks.toFixed(2)} blocks)` +
      (Object.keys(s.misses).length
        ? `, misses: ${Object.entries(s.misses)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}`
        : ''),
    `opportunities above min profit: ${s.opportunities}, untaken by anyone: ${s.untaken}, expected net at detection: ${formatUnitsFixed(s.expectedProfitBase, report.baseDecimals)}`,
  ]
  if (s.forkExecuted > 0) {
    lines.push(
      `fork execution: ${s.forkSucceeded}/${s.forkExecuted} succeeded, ${s.forkAgreed} equal the mirror's sizing to the last unit, profit ${formatUnitsFixed(s.forkProfitBase, report.baseDecimals)}`,
    )
  }
  return lines.join('\n')
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)

function svgChart(
  title: string,
  series: { name: string; color: string; points: number[]; kind: 'bar' | 'line' }[],
  labels: string[],
): string {
  const w = 860
  const h = 220
  const pad = 40
  const n = Math.max(1, labels.length)
  const max = Math.max(1, ...series.flatMap((s) => s.points))
  const x = (i: number) => pad + ((w - 2 * pad) * i) / Math.max(1, n - 1)
  const y = (v: number) => h - pad - ((h - 2 * pad) * v) / max
  const parts = series.map((s) => {
    if (s.kind === 'line') {
      const d = s.points.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`
    }
    const bw = Math.max(1, (w - 2 * pad) / n - 1)
    return s.points
      .map((v, i) =>
        v > 0
          ? `<rect x="${(x(i) - bw / 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(h - pad - y(v)).toFixed(1)}" fill="${s.color}" opacity="0.8"/>`
          : '',
      )
      .join('')
  })
  const legend = series
    .map(
      (s, i) => `<text x="${pad + i * 180}" y="16" fill="${s.color}" font-size="12">■ ${esc(s.name)}</text>`,
    )
    .join('')
  return `<h2>${esc(title)}</h2><svg viewBox="0 0 ${w} ${h}" width="100%" role="img">${legend}<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/><text x="${pad}" y="${h - 10}" font-size="11">${esc(labels[0] ?? '')}</text><text x="${w - pad - 60}" y="${h - 10}" font-size="11">${esc(labels[labels.length - 1] ?? '')}</text><text x="4" y="${pad}" font-size="11">${max}</text>${parts.join('')}</svg>`
}

export function renderHtml(report: BacktestReport): string {
  const s = summarize(report)
  const labels = report.perBlock.map((b) => `#${b.block}`)
  let cumulative = 0
  const profit = new Map(report.episodes.map((e) => [e.firstBlock, 0]))
  for (const e of report.episodes)
    profit.set(
      e.firstBlock,
      (profit.get(e.firstBlock) ?? 0) + Number(e.firstNetBase) / 10 ** report.baseDecimals,
    )
  const cumulativePoints = report.perBlock.map((b) => (cumulative += profit.get(b.block) ?? 0))
  const sampled = report.perBlock.filter((b) => b.hfBuckets)
  const bucketNames = ['HF < 1', '1 – 1.05', '1.05 – 1.2', '1.2 – 2', '≥ 2']
  const colors = ['#d62728', '#ff7f0e', '#bcbd22', '#2ca02c', '#1f77b4']
  const leads = report.liquidations.filter((l) => l.detected).map((l) => l.leadBlocks ?? 0)
  const leadMin = Math.min(0, ...leads)
  const leadMax = Math.max(0, ...leads)
  const leadHistogram = Array.from(
    { length: leadMax - leadMin + 1 },
    (_, i) => leads.filter((v) => v === leadMin + i).length,
  )
  const rows = report.liquidations
    .map(
      (l) =>
        `<tr><td>${l.block}</td><td>${esc(l.liquidator)}</td><td>${esc(l.user)}</td><td>${esc(l.summary)}</td><td>${l.detected ? `detected, lead ${l.leadBlocks}` : esc(`missed: ${l.miss}`)}</td></tr>`,
    )
    .join('')
  const untaken = report.episodes
    .filter((e) => !e.takenBy)
    .map(
      (e) =>
        `<tr><td>${esc(e.account)}</td><td>${e.firstBlock}–${e.lastBlock}</td><td>${(Number(e.bestNetBase) / 10 ** report.baseDecimals).toFixed(2)}</td><td>${e.fork ? (e.fork.success ? `ok, profit ${(Number(e.fork.profitBase) / 10 ** report.baseDecimals).toFixed(2)}` : esc(e.fork.reason ?? 'failed')) : ''}</td></tr>`,
    )
    .join('')
  return `<!doctype html><html><head><meta charset="utf-8"><title>Undertow backtest ${report.fromBlock}–${report.toBlock}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px}h2{font-size:16px;margin-top:28px}.k{display:inline-block;margin-right:24px;font-size:14px}</style></head><body>
<h1>Undertow backtest, blocks ${report.fromBlock + 1n}–${report.toBlock}</h1>
<div><span class="k">real liquidations <b>${s.liquidations}</b></span><span class="k">detected <b>${s.detected}</b></span><span class="k">average lead <b>${s.averageLeadBlocks.toFixed(2)}</b> blocks</span><span class="k">opportunities <b>${s.opportunities}</b></span><span class="k">untaken <b>${s.untaken}</b></span><span class="k">expected net <b>${(Number(s.expectedProfitBase) / 10 ** report.baseDecimals).toFixed(2)}</b> USD</span></div>
${svgChart(
  'Opportunities and captures per block',
  [
    {
      name: 'profitable opportunities',
      color: '#1f77b4',
      kind: 'bar',
      points: report.perBlock.map((b) => b.opportunities),
    },
    {
      name: 'real liquidations',
      color: '#d62728',
      kind: 'bar',
      points: report.perBlock.map((b) => b.captures),
    },
  ],
  labels,
)}
${svgChart('Cumulative expected profit (USD, at first detection)', [{ name: 'cumulative profit', color: '#2ca02c', kind: 'line', points: cumulativePoints }], labels)}
${svgChart(
  'Health factors of borrowers over time',
  bucketNames.map((name, i) => ({
    name,
    color: colors[i] ?? '#000',
    kind: 'line' as const,
    points: sampled.map((b) => b.hfBuckets?.[i] ?? 0),
  })),
  sampled.map((b) => `#${b.block}`),
)}
${svgChart(
  'Detection lead versus the real liquidators (blocks; ≥ 0 = Undertow as early or earlier)',
  [{ name: 'liquidations', color: '#9467bd', kind: 'bar', points: leadHistogram }],
  leadHistogram.map((_, i) => String(leadMin + i)),
)}
<h2>Real liquidations</h2><table><tr><th>block</th><th>liquidator</th><th>account</th><th>liquidation</th><th>Undertow</th></tr>${rows}</table>
<h2>Opportunities nobody took</h2><table><tr><th>account</th><th>blocks</th><th>best net USD</th><th>fork execution</th></tr>${untaken}</table>
</body></html>`
}

export function writeReports(
  report: BacktestReport,
  options: { json?: string | undefined; html?: string | undefined },
): void {
  if (options.json) writeFileSync(options.json, reportJson(report))
  if (options.html) writeFileSync(options.html, renderHtml(report))
}
