'use client';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import type { Problem } from './problems';

/** How long typing pauses before the text goes to the BFF to be checked. */
const PAUSE_MS = 300;

/** The BFF's check of a policy text as it is typed: its problems, and whether they are for this text. */
export function useLiveCheck(text: string | null): {
  issues: readonly Problem[];
  errors: number;
  upToDate: boolean;
} {
  const trpc = useTRPC();
  const validate = useMutation(trpc.policies.validate.mutationOptions());
  const [checkedText, setCheckedText] = useState<string | null>(null);
  // The latest mutate, without restarting the pause each time the mutation's state changes.
  const validateRef = useRef(validate.mutate);
  validateRef.current = validate.mutate;
  useEffect(() => {
    if (text === null) return;
    const timer = setTimeout(
      () => validateRef.current({ yaml: text }, { onSuccess: () => setCheckedText(text) }),
      PAUSE_MS,
    );
    return () => clearTimeout(timer);
  }, [text]);
  const issues = validate.data?.issues ?? [];
  return {
    issues,
    errors: issues.filter((i) => i.severity === 'error').length,
    upToDate: checkedText === text && !validate.isPending,
  };
}
