// Seeded randomness for the chaos run: one seed gives every client and the nemesis
// its own reproducible stream of decisions (what they do, not when the server answers).

/** FNV-1a of a string, to derive a stream's seed from the run's seed and a name. */
function hash32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small seeded generator (mulberry32) with the helpers the workloads need. */
export class Random {
  /** @param {number} seed */
  constructor(seed) {
    this.state = seed >>> 0;
  }

  /** A stream of its own for `name`, independent of how much other streams drew. */
  static derive(/** @type {number} */ seed, /** @type {string} */ name) {
    return new Random(hash32(`${seed}/${name}`));
  }

  /** @returns {number} in [0, 1) */
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** @returns {number} an integer in [min, max] */
  int(/** @type {number} */ min, /** @type {number} */ max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(/** @type {number} */ p) {
    return this.next() < p;
  }

  /** @template T @param {readonly T[]} items @returns {T} */
  pick(items) {
    return items[Math.floor(this.next() * items.length)];
  }
}

/** A fresh seed when none is given: printed, so the run can be replayed. */
export function newSeed() {
  return Math.floor(Math.random() * 2 ** 31);
}
