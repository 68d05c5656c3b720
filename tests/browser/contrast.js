// Text in the comment widget (in its shadow root) that fails WCAG 2 AA contrast, as ["text: ratio", ...].
// Each visible text node's colour is measured against the first opaque background up the tree;
// large text (>= 24px, or >= 18.66px bold) needs 3:1, the rest 4.5:1.
() => {
  const rgb = c => c.match(/[\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  // up the tree, out of the widget's shadow root to its host and the page
  const up = el => el.parentElement || (el.parentNode instanceof ShadowRoot ? el.parentNode.host : null);
  const background = el => { for (; el; el = up(el)) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] === 1) return c.slice(0, 3); } return [255, 255, 255]; };
  const failures = [];
  const widget = document.querySelector('[data-comments-article]').shadowRoot.querySelector('.cw');
  const walker = document.createTreeWalker(widget, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.data.trim() || !el.checkVisibility() || el.closest('.cw-sr')) continue;
    const style = getComputedStyle(el), size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const [a, b] = [lum(rgb(style.color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < (size >= 24 || (bold && size >= 18.66) ? 3 : 4.5)) {
      failures.push(`${node.data.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}
