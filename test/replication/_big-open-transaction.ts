/**
 * Child process of open-transaction-memory.test.ts, run with a small heap: feeds one source
 * transaction that never commits through ChangeStream's receive path (decodeOffline) until the
 * stream refuses it. Prints the error's code and message as JSON; exits 3 if a transaction was
 * delivered, 4 if it ran out of bytes to feed.
 */
import { ChangeStream } from '../../lib/replication/change-stream.ts';
import { CutoverError } from '../../lib/errors.ts';

const int32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const int16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const cString = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
function copyData(payload: Buffer): Buffer {
  const head = Buffer.alloc(30);
  head[0] = 0x64; // d
  head.writeUInt32BE(4 + 1 + 24 + payload.length, 1);
  head[5] = 0x77; // w: XLogData
  head.writeBigUInt64BE(0x1000n, 6);
  head.writeBigUInt64BE(0x1000n, 14);
  return Buffer.concat([head, payload]);
}
const begin = Buffer.concat([Buffer.from([0x42]), Buffer.alloc(8, 1), Buffer.alloc(8), int32(7)]);
const relation = Buffer.concat([Buffer.from([0x52]), int32(1), cString('public'), cString('t'), Buffer.from([0x64]), int16(2),
  Buffer.from([1]), cString('id'), int32(20), int32(-1), Buffer.from([0]), cString('note'), int32(25), int32(-1)]);
const insert = (id: number) => {
  const [a, b] = [Buffer.from(String(id)), Buffer.from(`note ${id}`)];
  return Buffer.concat([Buffer.from([0x49]), int32(1), Buffer.from([0x4e]), int16(2), Buffer.from([0x74]), int32(a.length), a, Buffer.from([0x74]), int32(b.length), b]);
};
// each read announces the relation (a new decode knows none) and carries 5,000 inserts
const read = (first: boolean) => Buffer.concat([...(first ? [copyData(begin)] : []), copyData(relation), ...Array.from({ length: 5000 }, (_, i) => copyData(insert(i)))]);
const firstRead = read(true);
const nextRead = read(false);

const stream = new ChangeStream('postgres://127.0.0.1:1/none', 's', 'p', {
  onTransaction: () => process.exit(3),
  onKeepalive: () => {},
  onError: (err) => {
    process.stdout.write(JSON.stringify({ code: (err as CutoverError).code, message: err.message, fix: (err as CutoverError).details?.fix }) + '\n');
    process.exit(0);
  },
});
stream.decodeOffline([firstRead]);
for (let i = 0; i < 4000; i++) stream.decodeOffline([nextRead]);
process.exit(4);
