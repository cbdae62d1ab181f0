'use client';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import type { Problem } from './problems';

/** How long typing pauses before the text goes to the BFF to be checked. */
const PAUSE_MS = 300;

/**
 * Sends `text` to `check` once typing pauses (any editor's validate mutation); true when the last answer
 * is for this text.
 */
export function usePausedCheck(
  text: string | null,
  check: {
    mutate: (input: { yaml: string }, options: { onSuccess: () => void }) => void;
    isPending: boolean;
  },
): boolean {
  const [checkedText, setCheckedText] = useState<string | null>(null);
  // The latest mutate, without restarting the pause each time the mutation's state changes.
  const mutateRef = useRef(check.mutate);
  mutateRef.current = check.mutate;
  useEffect(() => {
    if (text === null) return;
    const timer = setTimeout(
      () => mutateRef.current({ yaml: text }, { onSuccess: () => setCheckedText(text) }),
      PAUSE_MS,
    );
    return () => clearTimeout(timer);
  }, [text]);
  return checkedText === text && !check.isPending;
}

/**
 * The BFF's check of a policy text as it is typed, against `cluster` (none: the home cluster): its
 * problems, and whether they are for this text.
 */
export function useLiveCheck(
  text: string | null,
  cluster?: string,
): {
  issues: readonly Problem[];
  errors: number;
  upToDate: boolean;
} {
  const trpc = useTRPC();
  const validate = useMutation(trpc.policies.validate.mutationOptions());
  const upToDate = usePausedCheck(text, {
    mutate: (input, options) => validate.mutate({ ...input, ...(cluster ? { cluster } : {}) }, options),
    isPending: validate.isPending,
  });
  const issues = validate.data?.issues ?? [];
  return { issues, errors: issues.filter((i) => i.severity === 'error').length, upToDate };
}
