// The viewer's words in Korean and English. The server's error sentences come in the same language
// (the client sends it as Accept-Language), so a page never shows a raw code.
import { setApiLanguage } from '../api/client.ts';
import { LANG_IDS, LANG_KEY } from './lang-key.ts';

/** Languages the viewer speaks. */
export type Lang = (typeof LANG_IDS)[number];

/** Every language, in the order the switch lists them. */
export const LANGS: readonly { readonly id: Lang; readonly name: string }[] = [
  { id: 'ko', name: '한국어' },
  { id: 'en', name: 'English' },
];

const EN = {
  loading: 'Loading…',
  logIn: 'Log in',
  logOut: 'Log out',
  username: 'Username',
  password: 'Password',
  newAccount: 'New account',
  createAccount: 'Create an account',
  register: 'Register',
  usernameRule: 'Username (3-32 letters or digits)',
  passwordRule: 'Password (8+ characters)',
  registered: 'Account created. An admin must approve it before you can log in.',
  library: 'Library',
  libraryEmpty: 'The library is empty.',
  otherVideos: 'Videos',
  tryAgain: 'Try again',
  limitHint: 'Stop a video playing in another tab or on another device, then try again.',
  console: 'Console',
  language: 'Language',
  handsCount: '{n} hands',
  notPlayable: 'not playable',
  watched: '{p}% watched',
  bestReel: '★ Best hands of this event',
  back: '← Library',
  starting: 'Starting…',
  playFailed: 'The video could not be played.',
  pageNotFound: 'There is nothing at this address.',
  prevHand: '◀ Previous hand',
  nextHand: 'Next hand ▶',
  modeAll: 'Everything',
  modeSkip: 'Skip dead time',
  modeBest: 'Best hands only',
  spoilerSafe: 'Spoiler-safe',
  spoilerHint: 'Hands appear as you reach them.',
  hands: 'Hands',
  handN: 'Hand {n}',
  handOf: 'Hand {n} of {total}',
  beforeFirstHand: 'Before the first hand',
  bestSoFar: '{n} best so far',
  bestTotal: '{n} best',
  actionTotal: '{t} of action',
  best: 'best',
  noMoreBest: 'No more best hands in this video.',
  reelStop: 'Best hand {n} of {total}',
  reelEnd: 'That was the last best hand of this event.',
  reelEmpty: 'This event has no best hands yet.',
  keysHelp: 'Keys: N next hand · P previous · B best only · S skip dead time · Backspace/U back',
  jumpedBack: 'Back to {t}',
  noHands: 'This video has no hands marked.',
} as const;

/** The keys of the viewer's sentences. */
export type MessageKey = keyof typeof EN;

const KO: Record<MessageKey, string> = {
  loading: '불러오는 중…',
  logIn: '로그인',
  logOut: '로그아웃',
  username: '아이디',
  password: '비밀번호',
  newAccount: '새 계정',
  createAccount: '계정 만들기',
  register: '가입',
  usernameRule: '아이디 (영문·숫자 3-32자)',
  passwordRule: '비밀번호 (8자 이상)',
  registered: '계정이 만들어졌습니다. 관리자가 승인하면 로그인할 수 있습니다.',
  library: '라이브러리',
  libraryEmpty: '라이브러리가 비어 있습니다.',
  otherVideos: '영상',
  tryAgain: '다시 시도',
  limitHint: '다른 탭이나 기기에서 재생 중인 영상을 멈춘 뒤 다시 시도하세요.',
  console: '콘솔',
  language: '언어',
  handsCount: '핸드 {n}개',
  notPlayable: '재생할 수 없음',
  watched: '{p}% 시청',
  bestReel: '★ 이 이벤트의 베스트 핸드',
  back: '← 라이브러리',
  starting: '시작하는 중…',
  playFailed: '영상을 재생할 수 없습니다.',
  pageNotFound: '해당 경로가 없습니다.',
  prevHand: '◀ 이전 핸드',
  nextHand: '다음 핸드 ▶',
  modeAll: '전체',
  modeSkip: '대기 시간 건너뛰기',
  modeBest: '베스트 핸드만',
  spoilerSafe: '스포일러 방지',
  spoilerHint: '핸드는 재생 위치에 도달하면 나타납니다.',
  hands: '핸드',
  handN: '핸드 {n}',
  handOf: '핸드 {n} / {total}',
  beforeFirstHand: '첫 핸드 전',
  bestSoFar: '지금까지 베스트 {n}개',
  bestTotal: '베스트 {n}개',
  actionTotal: '액션 {t}',
  best: '베스트',
  noMoreBest: '이 영상에는 더 이상 베스트 핸드가 없습니다.',
  reelStop: '베스트 핸드 {n} / {total}',
  reelEnd: '이 이벤트의 마지막 베스트 핸드였습니다.',
  reelEmpty: '이 이벤트에는 아직 베스트 핸드가 없습니다.',
  keysHelp: '단축키: N 다음 핸드 · P 이전 · B 베스트만 · S 대기 건너뛰기 · Backspace/U 되돌아가기',
  jumpedBack: '{t}(으)로 돌아감',
  noHands: '이 영상에는 표시된 핸드가 없습니다.',
};

const MESSAGES: Record<Lang, Record<MessageKey, string>> = { en: EN, ko: KO };

const isLang = (v: unknown): v is Lang => (LANG_IDS as readonly unknown[]).includes(v);

/** The language a visitor gets: the one they chose before, else the browser's (Korean for ko-*, else English). */
function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (isLang(saved)) return saved;
  } catch {
    // Storage may be off (a private window with strict settings): fall back to the browser's language.
  }
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

let current: Lang = initialLang();
applyLang(current);

function applyLang(lang: Lang): void {
  document.documentElement.lang = lang;
  setApiLanguage(lang);
}

/** The language in use. */
export const currentLang = (): Lang => current;

/** Switches the language and remembers the choice. */
export function setLang(lang: Lang): void {
  current = lang;
  applyLang(lang);
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // Not remembered; the switch still holds for this page.
  }
}

/** A sentence in the current language, with `{name}` filled from `vars`. */
export function t(key: MessageKey, vars: Readonly<Record<string, string | number>> = {}): string {
  return MESSAGES[current][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
