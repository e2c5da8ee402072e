const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * What a sign-on page needs for its "Trust this browser for …" checkbox:
 * `trustDays` (whole days, for a trust of a day or more) or `trustHours`;
 * neither when the policy has no trustBrowser.
 */
export function trustLocals(trustBrowserMs: number | false | undefined): { trustDays: number | null; trustHours: number | null } {
  if (trustBrowserMs === false || trustBrowserMs === undefined) return { trustDays: null, trustHours: null };
  if (trustBrowserMs >= DAY) return { trustDays: Math.round(trustBrowserMs / DAY), trustHours: null };
  return { trustDays: null, trustHours: Math.max(1, Math.round(trustBrowserMs / HOUR)) };
}
