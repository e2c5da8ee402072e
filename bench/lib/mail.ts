import net from 'node:net';
import nodemailer from 'nodemailer';

/**
 * The pooled nodemailer transport both apps send their codes through (pool
 * defaults: 5 connections). With `noDelay` (the default here) its sockets
 * turn off Nagle's algorithm: nodemailer's own sockets leave it on, and on
 * loopback every message then waits ~40 ms for a delayed ACK, which caps a
 * pool of 5 at about 100 mails a second whatever the app does.
 */
export function benchTransport(port: number, noDelay = process.env.BENCH_SMTP_NAGLE !== '1') {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    ...(noDelay
      ? {
          getSocket(options: { host?: string; port?: number }, callback: (err: Error | null, socketOptions?: { connection: net.Socket }) => void) {
            const socket = net.connect(options.port ?? port, options.host ?? '127.0.0.1');
            socket.setNoDelay(true);
            socket.once('error', (error) => callback(error));
            socket.once('connect', () => callback(null, { connection: socket }));
          },
        }
      : {}),
  } as nodemailer.TransportOptions);
}
