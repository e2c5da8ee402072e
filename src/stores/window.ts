/** A count in a fixed window, as the memory and PostgreSQL stores keep sends and failures (the Lua scripts do the same). */
export interface Window {
  count: number;
  endsAt: number;
}

/** The count in a fixed window, starting a fresh window when the last one ended. */
export function countIn(window: Window | undefined, windowMs: number, now: number): Window {
  return window && window.endsAt > now ? window : { count: 0, endsAt: now + windowMs };
}
