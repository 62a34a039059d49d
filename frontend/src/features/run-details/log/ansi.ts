// ANSI colour escapes → styled segments, with Anser (a maintained ANSI parser).
// One Anser instance is fed the log line by line, so a colour set on one line
// carries on to the next, as in a terminal.
import Anser from 'anser';
import type { CSSProperties } from 'react';

export interface Segment {
  text: string;
  /** Token classes for the 16 standard colours and decorations (styles.css). */
  className?: string;
  /** 256-colour and true-colour escapes carry their own colour: it is data from the log, not design. */
  style?: CSSProperties;
}

const ESC = '\u001b';
/** CSI sequences (colours, cursor moves, erase) and OSC titles/links. */
// eslint-disable-next-line no-control-regex -- matching terminal control characters is the point
const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

export function hasEscapes(line: string): boolean {
  return line.includes(ESC);
}

/** The text as it reads on a terminal, without escapes (for search, sections, failures). */
export function stripAnsi(line: string): string {
  return hasEscapes(line) ? line.replace(ESCAPE_SEQUENCE, '') : line;
}

/** xterm's 256-colour palette entries 16–255 (0–15 are the themed standard colours). */
function paletteColour(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  return `rgb(${steps[Math.floor(i / 36) % 6]}, ${steps[Math.floor(i / 6) % 6]}, ${steps[i % 6]})`;
}

const STANDARD = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

function colourOf(name: string | null, truecolor: string | null, part: 'fg' | 'bg', classes: string[], style: CSSProperties) {
  if (!name) return;
  const key = part === 'fg' ? 'color' : 'backgroundColor';
  if (name === 'ansi-truecolor' && truecolor) {
    style[key] = `rgb(${truecolor})`;
    return;
  }
  const palette = /^ansi-palette-(\d+)$/.exec(name);
  if (palette) {
    const n = Number(palette[1]);
    if (n < 16) classes.push(`ansi-${n >= 8 ? 'bright-' : ''}${STANDARD[n % 8]}-${part}`);
    else style[key] = paletteColour(n);
    return;
  }
  classes.push(`${name}-${part}`);
}

export type AnserState = { fg: string | null; bg: string | null; fg_truecolor: string | null; bg_truecolor: string | null; bright: number; decorations: string[] };

/** The state of a line that starts with no colour (shared: most styled lines start so). */
const PLAIN: AnserState = Object.freeze({ fg: null, bg: null, fg_truecolor: null, bg_truecolor: null, bright: 0, decorations: [] as string[] });

/** Carries ANSI state from line to line. */
export class AnsiLines {
  private anser = new Anser();

  /** The state in effect now, to come back to (a line that grows is parsed again). */
  snapshot(): AnserState {
    const a = this.anser as unknown as AnserState;
    return { fg: a.fg, bg: a.bg, fg_truecolor: a.fg_truecolor, bg_truecolor: a.bg_truecolor, bright: a.bright, decorations: [...a.decorations] };
  }

  restore(state: AnserState): void {
    Object.assign(this.anser, { ...state, decorations: [...state.decorations] });
  }

  /** True while no colour or decoration is in effect: a line without escapes is then plain text. */
  isPlain(): boolean {
    const a = this.anser as unknown as AnserState;
    return !a.fg && !a.bg && a.decorations.length === 0;
  }

  /**
   * Reads one line (without its newline) to carry the state on. Returns the state
   * the line starts with when it needs styling, or null when it is plain text;
   * the segments themselves are made only for lines on screen (segmentsOf).
   */
  advance(line: string): AnserState | null {
    if (!hasEscapes(line)) return this.isPlain() ? null : this.snapshot();
    const start = this.isPlain() ? PLAIN : this.snapshot();
    this.anser.ansiToJson(line, { use_classes: true });
    return start;
  }
}

/** The styled segments of a line that starts in state `start` (from AnsiLines.advance). */
export function segmentsOf(line: string, start: AnserState): Segment[] {
  const anser = new Anser();
  Object.assign(anser, { ...start, decorations: [...start.decorations] });
  const entries = anser.ansiToJson(line, { use_classes: true });
  const out: Segment[] = [];
  entries.forEach((entry, i) => {
    // Anser gives the text before the first escape no style: it has the carried one.
    const fg = i === 0 ? start.fg : entry.fg;
    const bg = i === 0 ? start.bg : entry.bg;
    const fgTrue = i === 0 ? start.fg_truecolor : entry.fg_truecolor;
    const bgTrue = i === 0 ? start.bg_truecolor : entry.bg_truecolor;
    const decorations = i === 0 ? start.decorations : entry.decorations;
    const text = stripAnsi(entry.content);
    if (text === '') return;
    const classes: string[] = [];
    const style: CSSProperties = {};
    colourOf(fg, fgTrue, 'fg', classes, style);
    colourOf(bg, bgTrue, 'bg', classes, style);
    for (const d of decorations) classes.push(`ansi-${d}`);
    out.push({
      text,
      ...(classes.length ? { className: classes.join(' ') } : {}),
      ...(Object.keys(style).length ? { style } : {}),
    });
  });
  return out;
}
