/** The "flaky" mark shown next to a test wherever it appears. */
export function FlakyBadge() {
  return (
    <span className="flaky-badge" title="Passed and failed on the same test-file content within its recent runs">
      flaky
    </span>
  );
}
