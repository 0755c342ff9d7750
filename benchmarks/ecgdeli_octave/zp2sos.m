function sos = zp2sos(z, p, k)
  % Shadows octave-signal's zp2sos, which for an odd order returns sections whose
  % denominator starts with 0 (filtfilt then divides by 0). Like MATLAB: conjugate
  % pairs grouped, first-order sections padded at the end, gain in section 1.
  zs = pair_roots(z);
  ps = pair_roots(p);
  n = max(numel(zs), numel(ps));
  sos = zeros(n, 6);
  for i = 1:n
    b = [1 0 0];
    a = [1 0 0];
    if i <= numel(zs)
      c = real(poly(zs{i}));
      b = [c, zeros(1, 3 - numel(c))];
    end
    if i <= numel(ps)
      c = real(poly(ps{i}));
      a = [c, zeros(1, 3 - numel(c))];
    end
    sos(i, :) = [b, a];
  end
  sos(1, 1:3) = k * sos(1, 1:3);
end

function groups = pair_roots(r)
  % complex roots in conjugate pairs, then real roots two by two
  r = r(:);
  cplx = r(imag(r) > 0);
  rl = sort(real(r(imag(r) == 0)));
  groups = {};
  for i = 1:numel(cplx)
    groups{end+1} = [cplx(i); conj(cplx(i))];
  end
  for i = 1:2:numel(rl)
    groups{end+1} = rl(i:min(i+1, end));
  end
end
