/**
 * Human messages for the error envelope, in Korean and English, chosen by Accept-Language.
 * Codes are the stable part; these sentences may change.
 */
import type { ErrorCode } from '../model/errors.ts';

/** Languages the messages exist in. */
export type Lang = 'ko' | 'en';

type Details = Readonly<Record<string, unknown>> | undefined;
type Message = string | ((d: Details) => string);

const MESSAGES: Record<ErrorCode, Record<Lang, Message>> = {
  AUTH_INVALID_TOKEN: { ko: '인증 토큰이 유효하지 않습니다.', en: 'The authentication token is missing or invalid.' },
  AUTH_USER_PENDING: { ko: '승인 대기 중인 계정입니다.', en: 'This account is waiting for approval.' },
  AUTH_FORBIDDEN: { ko: '이 작업을 할 권한이 없습니다.', en: 'You are not allowed to do this.' },
  AUTH_USER_DISABLED: { ko: '비활성화된 계정입니다.', en: 'This account has been disabled.' },
  AUTH_INVALID_CREDENTIALS: { ko: '아이디 또는 비밀번호가 올바르지 않습니다.', en: 'Wrong username or password.' },
  AUTH_TOO_MANY_ATTEMPTS: { ko: '로그인 시도가 너무 많습니다. 잠시 후 다시 시도하세요.', en: 'Too many failed logins. Try again later.' },
  AUTH_USERNAME_TAKEN: { ko: '이미 사용 중인 아이디입니다.', en: 'That username is already taken.' },
  AUTH_LAST_ADMIN: { ko: '마지막 관리자는 비활성화하거나 권한을 낮출 수 없습니다.', en: 'The last active admin cannot be disabled or demoted.' },
  AUTH_CROSS_SITE: {
    ko: '다른 사이트에서 보낸 요청은 처리하지 않습니다. 이 서버의 페이지에서 다시 시도하세요.',
    en: 'Requests sent from another site are refused. Try again from this server’s own page.',
  },
  CACHE_OVER_BUDGET: {
    ko: 'SSD 캐시 예산이 부족해 고정할 수 없습니다.',
    en: 'The SSD cache budget cannot hold this video, so it was not pinned.',
  },
  CACHE_ENTRY_IN_USE: { ko: '재생 중인 SSD 사본은 지울 수 없습니다.', en: 'This SSD copy is being streamed and cannot be evicted now.' },
  CACHE_ENTRY_NOT_FOUND: { ko: '이 영상의 SSD 사본이 없습니다.', en: 'This video has no copy on the SSD.' },
  USER_NOT_FOUND: { ko: '사용자를 찾을 수 없습니다.', en: 'No such user.' },
  CONTENT_NOT_FOUND: { ko: '콘텐츠를 찾을 수 없습니다.', en: 'No video with that id.' },
  RATE_LIMIT_EXCEEDED: {
    ko: (d) => (d?.scope === 'server' ? `서버 동시 재생 한도(${String(d.limit)}개)에 도달했습니다.` : `동시 재생 ${String(d?.limit ?? 3)}개 초과`),
    en: (d) =>
      d?.scope === 'server'
        ? `The server is already playing its limit of ${String(d.limit)} streams.`
        : `${String(d?.limit ?? 3)} concurrent streams already playing`,
  },
  STREAM_SESSION_NOT_FOUND: { ko: '재생 세션을 찾을 수 없습니다.', en: 'No such stream session.' },
  STREAM_SESSION_ENDED: {
    ko: (d) => (typeof d?.note === 'string' ? `운영자가 재생을 종료했습니다: ${d.note}` : '재생 세션이 종료되었습니다.'),
    en: (d) => (typeof d?.note === 'string' ? `The operator ended this stream: ${d.note}` : 'This stream session has ended.'),
  },
  STREAM_FILE_UNAVAILABLE: { ko: '파일을 찾을 수 없습니다. (NAS 연결 확인)', en: 'The video file cannot be read right now (check the NAS).' },
  RANGE_NOT_SATISFIABLE: { ko: '요청한 범위가 파일 크기를 벗어났습니다.', en: 'The requested range lies outside the file.' },
  PRECONDITION_FAILED: { ko: '요청 조건이 현재 파일과 맞지 않습니다.', en: 'The file no longer matches the request’s preconditions.' },
  // The problem is named in the details too; the sentence carries it so a page can show it as it is.
  VALIDATION_FAILED: {
    ko: (d) => (typeof d?.problem === 'string' ? `요청 값이 올바르지 않습니다 (${String(d.field)}): ${d.problem}` : '요청 값이 올바르지 않습니다.'),
    en: (d) => (typeof d?.problem === 'string' ? `The request is not valid (${String(d.field)}): ${d.problem}` : 'The request is not valid.'),
  },
  ROUTE_NOT_FOUND: { ko: '해당 경로가 없습니다.', en: 'There is nothing at this address.' },
  METHOD_NOT_ALLOWED: { ko: '이 경로에서 지원하지 않는 메서드입니다.', en: 'This address does not accept that method.' },
  PAYLOAD_TOO_LARGE: { ko: '요청 본문이 너무 큽니다.', en: 'The request body is too large.' },
  INTERNAL_ERROR: { ko: '서버 내부 오류가 발생했습니다.', en: 'Something went wrong on the server.' },
};

/** Picks ko or en from an Accept-Language header by q-value; English when neither is asked for. */
export function pickLang(header: string | undefined): Lang {
  if (!header) return 'en';
  let best: { lang: Lang; q: number } | null = null;
  for (const part of header.split(',')) {
    const [tag = '', ...params] = part.trim().split(';');
    const primary = tag.trim().toLowerCase().split('-')[0];
    if (primary !== 'ko' && primary !== 'en') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? 'en';
}

/** The message for a code in a language; some messages name figures from the error's details. */
export function messageFor(code: ErrorCode, lang: Lang, details?: Details): string {
  const m = MESSAGES[code][lang];
  return typeof m === 'string' ? m : m(details);
}
