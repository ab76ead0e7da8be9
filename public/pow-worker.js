/*
 * Proof-of-work solver for ALTCHA v2 challenges (algorithm "SHA-256", uint32 counter), run as
 * a Web Worker by app/ui/pow.ts. It speaks the message protocol of altcha's own workers:
 *   in:  { type: "work", challenge, counterStart, counterStep, timeout }  |  { type: "abort" }
 *   out: { counter, derivedKey, time }  |  null (not found, aborted, timed out)  |  { error }
 *
 * SHA-256 is computed here in plain JavaScript rather than with crypto.subtle.digest: for
 * one-block messages a call into WebCrypto costs far more than the hash itself (Chromium on
 * the project's 2-core machine: ~0.1 M digests/s with crypto.subtle, ~1.6 M/s with this code;
 * see bench/pow.ts). It also works where crypto.subtle does not exist (plain http on a
 * non-local host). The results are SHA-256's, byte for byte; lib/pow/pow.test.ts checks them.
 */
// Everything is function-scoped: fast in any engine, and the script's completion value (the
// object below) is what a test that runs this file in node:vm gets back.
(function () {
  "use strict";


  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  var IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  var W = new Int32Array(64);

  /** One SHA-256 compression of the 16 words at M[off…] into the state H. */
  function compress(H, M, off) {
    var i, a, b, c, d, e, f, g, h, t1, t2;
    for (i = 0; i < 16; i++) W[i] = M[off + i];
    for (i = 16; i < 64; i++) {
      a = W[i - 15];
      b = W[i - 2];
      W[i] =
        (W[i - 16] +
          (((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)) +
          W[i - 7] +
          (((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10))) |
        0;
    }
    a = H[0]; b = H[1]; c = H[2]; d = H[3]; e = H[4]; f = H[5]; g = H[6]; h = H[7];
    for (i = 0; i < 64; i++) {
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }

  /** The padded big-endian words of a message, for compress. */
  function padWords(bytes) {
    var len = bytes.length;
    var blocks = (len + 9 + 63) >> 6;
    var padded = new Uint8Array(blocks * 64);
    padded.set(bytes);
    padded[len] = 0x80;
    var bits = len * 8;
    var end = padded.length;
    padded[end - 1] = bits & 0xff;
    padded[end - 2] = (bits >>> 8) & 0xff;
    padded[end - 3] = (bits >>> 16) & 0xff;
    padded[end - 4] = (bits >>> 24) & 0xff;
    padded[end - 5] = Math.floor(bits / 0x100000000) & 0xff;
    var words = new Int32Array(blocks * 16);
    for (var i = 0; i < words.length; i++) {
      words[i] = (padded[i * 4] << 24) | (padded[i * 4 + 1] << 16) | (padded[i * 4 + 2] << 8) | padded[i * 4 + 3];
    }
    return { padded: padded, words: words, blocks: blocks };
  }

  /** SHA-256 of a byte array, as bytes: the general form, for tests and the odd shapes. */
  function sha256(bytes) {
    var p = padWords(bytes);
    var H = new Int32Array(IV);
    for (var blk = 0; blk < p.blocks; blk++) compress(H, p.words, blk * 16);
    return wordsToBytes(H, 32);
  }

  function wordsToBytes(H, length) {
    var out = new Uint8Array(length);
    for (var i = 0; i < length; i++) out[i] = (H[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
    return out;
  }

  function hexToBytes(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error("not a hex string");
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function bytesToHex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }

  /**
   * Tries counters counterStart, counterStart + counterStep, … until SHA-256 iterated `cost`
   * times over salt ‖ nonce ‖ uint32be(counter) starts with keyPrefix. `shouldStop` is polled
   * between slices of work; returns the solution, or null.
   */
  function solve(parameters, counterStart, counterStep, shouldStop) {
    if (parameters.algorithm !== "SHA-256") throw new Error("unsupported algorithm " + parameters.algorithm);
    var salt = hexToBytes(parameters.salt);
    var nonce = hexToBytes(parameters.nonce);
    var cost = Math.max(1, parameters.cost | 0);
    var keyLength = Math.min(32, parameters.keyLength || 32);
    var prefix = String(parameters.keyPrefix).toLowerCase();
    if (!/^[0-9a-f]+$/.test(prefix) || prefix.length > keyLength * 2) throw new Error("bad keyPrefix");
    var nibbles = new Int32Array(prefix.length);
    for (var n = 0; n < prefix.length; n++) nibbles[n] = parseInt(prefix[n], 16);

    var message = new Uint8Array(salt.length + nonce.length + 4);
    message.set(salt, 0);
    message.set(nonce, salt.length);
    var at = salt.length + nonce.length;
    var p = padWords(message);
    var M = p.words;
    var firstWord = at >> 2;
    var lastWord = (at + 3) >> 2;
    var H = new Int32Array(8);
    // Later rounds hash the previous 32-byte digest: one block, whose padding never changes.
    var R = new Int32Array(16);
    R[8] = 0x80000000 | 0;
    R[15] = 256;

    var step = counterStep > 0 ? counterStep : 1;
    var counter = counterStart >= 0 ? counterStart : 0;
    var start = Date.now();
    var sinceCheck = 0;
    for (; counter <= 0xffffffff; counter += step) {
      // Exactly 4096 counters have been tried since the last check: the caller counts on it.
      if (sinceCheck === 4096) {
        sinceCheck = 0;
        if (shouldStop()) return null;
      }
      sinceCheck++;
      p.padded[at] = counter >>> 24;
      p.padded[at + 1] = (counter >>> 16) & 0xff;
      p.padded[at + 2] = (counter >>> 8) & 0xff;
      p.padded[at + 3] = counter & 0xff;
      for (var w = firstWord; w <= lastWord; w++) {
        M[w] = (p.padded[w * 4] << 24) | (p.padded[w * 4 + 1] << 16) | (p.padded[w * 4 + 2] << 8) | p.padded[w * 4 + 3];
      }
      H.set(IV);
      for (var blk = 0; blk < p.blocks; blk++) compress(H, M, blk * 16);
      for (var r = 1; r < cost; r++) {
        for (var k = 0; k < 8; k++) R[k] = H[k];
        H.set(IV);
        compress(H, R, 0);
      }
      var match = true;
      for (var j = 0; j < nibbles.length; j++) {
        if (((H[j >> 3] >>> (28 - 4 * (j & 7))) & 15) !== nibbles[j]) {
          match = false;
          break;
        }
      }
      if (match) return { counter: counter, derivedKey: bytesToHex(wordsToBytes(H, keyLength)), time: Date.now() - start };
    }
    return null;
  }

  // As a worker: altcha's protocol. Work runs in slices so that an abort message gets through.
  if (typeof self !== "undefined" && typeof self.postMessage === "function") {
    var aborted = false;
    self.onmessage = function (message) {
      var data = message.data || {};
      if (data.type === "abort") {
        aborted = true;
        return;
      }
      if (data.type !== "work") return;
      aborted = false;
      var deadline = data.timeout ? Date.now() + data.timeout : Infinity;
      var sliceEnd = 0;
      // A generator-free resumable loop: solve() returns null when asked to stop for a slice
      // boundary, and is resumed from where it stopped.
      var counterStep = data.counterStep > 0 ? data.counterStep : 1;
      var next = data.counterStart > 0 ? data.counterStart : 0;
      var startedAt = Date.now();
      var sliceDone = false;
      function runSlice() {
        if (aborted || Date.now() > deadline) return self.postMessage(null);
        sliceEnd = Date.now() + 200;
        sliceDone = false;
        var tried = 0;
        var solution;
        try {
          solution = solve(data.challenge.parameters, next, counterStep, function () {
            tried += 4096;
            if (Date.now() >= sliceEnd) {
              sliceDone = true;
              return true;
            }
            return false;
          });
        } catch (err) {
          return self.postMessage({ error: String((err && err.message) || err) });
        }
        if (solution) {
          solution.time = Date.now() - startedAt;
          return self.postMessage(solution);
        }
        if (!sliceDone) return self.postMessage(null);
        next += tried * counterStep;
        setTimeout(runSlice, 0);
      }
      runSlice();
    };
  }

  return { sha256: sha256, solve: solve };
})();
